"""KV cache element types, chosen separately for K and V as llama.cpp's --cache-type-k/-v:

    f32    4 bytes an element: for exact comparisons with float references
    f16    2 bytes (the default)
    q8_0   34 bytes a block of 32 along each head (1.06 bytes an element)
    q4_0   18 bytes a block of 32 (0.56 bytes an element)

The quantized types need head sizes that are multiples of 32 (checked when the context is made).
"""

from __future__ import annotations

from . import _core
from .errors import ContextError

KV_TYPES = ("f32", "f16", "q8_0", "q4_0")
DEFAULT_KV_TYPE = "f16"


def check_kv_type(name, what: str = "kv_type") -> str:
    """The canonical (lower-case) name of a KV type; ContextError for anything else."""
    if not isinstance(name, str) or name.lower() not in KV_TYPES:
        raise ContextError(f"{what} must be one of {', '.join(KV_TYPES)}, got {name!r}")
    return name.lower()


def resolve_kv_types(kv_type=None, kv_type_k=None, kv_type_v=None) -> tuple[str, str]:
    """(K type, V type): kv_type sets both, kv_type_k / kv_type_v override one side."""
    both = DEFAULT_KV_TYPE if kv_type is None else check_kv_type(kv_type)
    k = both if kv_type_k is None else check_kv_type(kv_type_k, "kv_type_k")
    v = both if kv_type_v is None else check_kv_type(kv_type_v, "kv_type_v")
    return k, v


def kv_bytes_per_cell(hparams, type_k: str, type_v: str) -> int:
    """K and V bytes one cell takes over all layers."""
    h = hparams
    for t, dim, side in ((type_k, h["head_dim_k"], "K"), (type_v, h["head_dim_v"], "V")):
        if t in ("q8_0", "q4_0") and dim % 32:
            raise ContextError(f"KV cache type {t} stores blocks of 32 elements along the head, but this "
                               f"model's {side} heads have {dim}; use f16 or f32")
    per_layer = (_core.kv_row_bytes(type_k, h["n_head_kv"] * h["head_dim_k"])
                 + _core.kv_row_bytes(type_v, h["n_head_kv"] * h["head_dim_v"]))
    return int(h["n_layer"] * per_layer)
