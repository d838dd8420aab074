"""The forward pass's matmul (csrc/ops/matmul.cpp) against the per-row dot product kernels.

For 4+ tokens the 32-element formats go through the unpacked prefill kernel
(csrc/quant/unpacked*.cpp); fewer tokens use the types' vec_dot. Both must give the same
numbers up to float summation order, for every type, thread count and ragged token count.
"""

import numpy as np
import pytest

from llmrt import _core

TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
         "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "BF16": 30}


@pytest.mark.parametrize("name", list(TYPES))
@pytest.mark.parametrize("n_tokens", [1, 3, 4, 7, 9])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_matmul_equals_row_dots(name, n_tokens, n_threads):
    t = TYPES[name]
    rng = np.random.default_rng(t * 100 + n_tokens)
    n_in, n_out = 512, 24
    weights = rng.standard_normal((n_out, n_in)).astype(np.float32)
    w = np.concatenate([_core.quantize(t, row) for row in weights])
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    y = _core.matmul(t, w, n_in, x, n_threads=n_threads)
    assert y.shape == (n_tokens, n_out)
    row_bytes = w.size // n_out
    for tok in range(n_tokens):
        for r in range(n_out):
            expected = _core.vec_dot(t, w[r * row_bytes:(r + 1) * row_bytes], x[tok], reference=True)
            scale = np.abs(weights[r]) @ np.abs(x[tok])
            assert abs(y[tok, r] - expected) <= 1e-5 * scale, (name, tok, r)


def test_matmul_rejects_bad_shapes():
    from llmrt import QuantError

    with pytest.raises(QuantError):
        _core.matmul(8, np.zeros(34 * 3, np.uint8), 32, np.zeros((2, 64), np.float32))
    with pytest.raises(QuantError):
        _core.matmul(8, np.zeros(35, np.uint8), 32, np.zeros((2, 32), np.float32))
