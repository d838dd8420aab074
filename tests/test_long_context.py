"""Every architecture llmrt runs, with its RoPE scaling (Llama 3's factors, YaRN, LongRoPE,
linear), converted by `llmrt convert` and by llama.cpp's converter, in F32 and F16: logits equal
to transformers' at positions 0-100 and 2000-3000, and the same 64 greedy tokens. The models, the
files and the runs are made once per session (tests/long_context.py says how, and why F16 files
are compared with transformers on rounded weights)."""

from __future__ import annotations

import numpy as np
import pytest

import long_context as lc

pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")

CASES = [(name, conv, outtype) for name in lc.MODELS for conv in lc.CONVERTERS for outtype in lc.OUTTYPES]


@pytest.mark.parametrize("name,converter,outtype", CASES)
def test_logits_match_transformers(name, converter, outtype, long_context):
    for (lo, hi), err in zip(lc.SPANS, lc.logit_errors(long_context, name, converter, outtype)):
        assert err < lc.MAX_ERROR, f"positions {lo}-{hi}: max error {err:.2e} of the logit range"


@pytest.mark.parametrize("name,converter,outtype", CASES)
def test_greedy_tokens_match_transformers(name, converter, outtype, long_context):
    """All N_STEPS tokens equal. Each model's ids_seed is one where transformers meets no
    near-tie on the way; should one appear (other weights, another transformers), the test says
    so rather than compare tokens that float32 noise may pick either way."""
    got, eog = long_context.llmrt(name, converter, outtype)
    ref = long_context.transformers(name, outtype, eog)
    ties = [i for i, m in enumerate(ref.margins) if m < lc.NEAR_TIE]
    assert not ties, (f"transformers' step {ties[0]} is a near-tie (top-2 margin "
                      f"{ref.margins[ties[0]]:.1e} of the range): choose another ids_seed")
    assert got.tokens == ref.tokens


@pytest.mark.parametrize("name", list(lc.MODELS))
@pytest.mark.parametrize("converter", lc.CONVERTERS)
def test_f16_file_stores_what_the_reference_rounds(name, converter, long_context):
    """An F16 file's matrices are F16, its vectors and MoE routers F32: what round_like_f16 rounds."""
    for t in gguf.GGUFReader(long_context.gguf(name, converter, "f16")).tensors:
        matrix = int(np.count_nonzero(np.asarray(t.shape) > 1)) >= 2
        want = "F16" if matrix and not lc.F32_MATRICES.search(t.name) else "F32"
        assert t.tensor_type.name == want, f"{t.name}: {t.tensor_type.name}, the reference assumes {want}"
