"""An ArchSpec's tables in their native form: _core.HParams and _core.TensorNames, filled
attribute by attribute, so a key the native struct lacks raises AttributeError here instead of
being ignored."""

from __future__ import annotations

from typing import Mapping

from .. import _core

# Keys of ArchSpec.hparams that only Python reads.
PYTHON_ONLY_HPARAMS = frozenset({"n_ctx_train"})


def native_hparams(hp: Mapping) -> _core.HParams:
    out = _core.HParams()
    for key, value in hp.items():
        if key not in PYTHON_ONLY_HPARAMS:
            setattr(out, key, value)
    return out


def native_tensor_names(names: Mapping) -> _core.TensorNames:
    out = _core.TensorNames()
    out.global_ = dict(names["global"])
    out.layer = dict(names["layer"])
    out.optional = list(names["optional"])
    return out
