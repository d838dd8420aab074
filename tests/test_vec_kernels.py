"""The attention's grouped-head kernels (csrc/ops/vec*.cpp): fast path against the scalar
reference, for group sizes around the 4-head register blocking and row lengths with a tail."""

import numpy as np
import pytest

from llmrt import _core, _core_testing


@pytest.mark.parametrize("group", [1, 2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("n", [7, 64, 100, 256])
def test_dot_group_f16_matches_reference(group, n):
    rng = np.random.default_rng(group * 1000 + n)
    q = rng.standard_normal((group, n)).astype(np.float32)
    k = rng.standard_normal(n).astype(np.float16).view(np.uint16)
    fast = _core_testing.dot_group_f16(q, k)
    ref = _core_testing.dot_group_f16(q, k, reference=True)
    exact = q.astype(np.float64) @ k.view(np.float16).astype(np.float64)
    scale = np.abs(q).astype(np.float64) @ np.abs(k.view(np.float16).astype(np.float64))
    assert np.all(np.abs(fast - exact) <= 1e-5 * scale)
    assert np.all(np.abs(ref - exact) <= 1e-5 * scale)


def test_group_kernels_reject_mismatched_shapes():
    with pytest.raises(ValueError):
        _core_testing.dot_group_f16(np.zeros((2, 8), np.float32), np.zeros(7, np.uint16))
    with pytest.raises(ValueError):
        _core_testing.axpy_tile_f16(np.zeros((2, 8), np.float32), np.zeros((2, 3), np.float32), np.zeros((4, 8), np.uint16))


@pytest.mark.parametrize("act", [0, 1])
def test_gated_activation_matches_libm_reference(act):
    """The vectorised exp/sigmoid against the scalar libm path, over the range activations take
    (and far beyond it, where exp saturates), with a ragged tail."""
    rng = np.random.default_rng(act)
    gate = np.concatenate([rng.standard_normal(1000) * 4, np.linspace(-120, 120, 203)]).astype(np.float32)
    up = rng.standard_normal(gate.size).astype(np.float32)
    fast = _core_testing.gated_activation(act, gate.reshape(1, -1), up.reshape(1, -1))
    ref = _core_testing.gated_activation(act, gate.reshape(1, -1), up.reshape(1, -1), reference=True)
    # the tanh form cancels for very negative g (1 + tanh -> 0): compare on the scale of g * up
    assert np.all(np.abs(fast - ref) <= 2e-6 * np.abs(ref) + 1e-6 * np.abs(gate * up))
    g = gate.astype(np.float64)
    z = g if act == 0 else 2 * np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)
    exact = g / (1 + np.exp(-z)) * up
    # z itself carries float32 rounding (~6e-8 |z|), which exp turns into relative error
    tol = (2e-6 + 1e-7 * np.abs(z)) * np.abs(exact) + 1e-30  # below 1e-30: exp clamped at 88
    if _core.simd_level() == "scalar":  # then "fast" is the tanh form, with its cancellation
        tol += 1e-6 * np.abs(gate * up)
    assert np.all(np.abs(fast - exact) <= tol)


@pytest.mark.parametrize("group", [1, 2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("rows,n", [(1, 64), (32, 64), (17, 256), (5, 12), (3, 40), (7, 100)])
def test_axpy_tile_f16_matches_reference(group, rows, n):
    """Blocks of several 8-dim chunks per pass (by head count), single chunks and a scalar tail."""
    rng = np.random.default_rng(group * 100 + rows + n)
    y = rng.standard_normal((group, n)).astype(np.float32)
    p = rng.random((group, rows)).astype(np.float32)
    v = rng.standard_normal((rows, n)).astype(np.float16)
    fast = _core_testing.axpy_tile_f16(y, p, v.view(np.uint16))
    ref = _core_testing.axpy_tile_f16(y, p, v.view(np.uint16), reference=True)
    exact = y.astype(np.float64) + p.astype(np.float64) @ v.astype(np.float64)
    np.testing.assert_allclose(fast, exact, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ref, exact, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [5, 64, 576, 1000])
def test_rms_norm_matches_reference(n):
    """The vectorised RMSNorm (double sum of squares in four lanes) against the scalar reference
    (one sequential double sum) and float64, with a ragged tail and rows of very different scale."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((3, n)).astype(np.float32) * np.array([[1e-3], [1.0], [1e3]], np.float32)
    w = rng.standard_normal(n).astype(np.float32)
    fast = _core_testing.rms_norm(x, w, 1e-6)
    ref = _core_testing.rms_norm(x, w, 1e-6, reference=True)
    x64 = x.astype(np.float64)
    exact = x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w
    np.testing.assert_allclose(fast, ref, rtol=2e-7, atol=0)
    np.testing.assert_allclose(fast, exact, rtol=1e-6, atol=0)


@pytest.mark.parametrize("group", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("n_rows", [1, 2, 3, 5, 32])
@pytest.mark.parametrize("n", [7, 64, 256])
def test_dot_tile_f16_matches_reference(group, n_rows, n):
    """Scores of a tile of cells: blocks of 4 cells x 3 heads and 2 cells x 4 heads with
    their tails, and rows whose length is no multiple of 8 (per-cell kernel)."""
    rng = np.random.default_rng(group * 10000 + n_rows * 100 + n)
    q = rng.standard_normal((group, n)).astype(np.float32)
    k = rng.standard_normal((n_rows, n)).astype(np.float16)
    fast = _core_testing.dot_tile_f16(q, k.view(np.uint16))
    ref = _core_testing.dot_tile_f16(q, k.view(np.uint16), reference=True)
    exact = q.astype(np.float64) @ k.astype(np.float64).T
    scale = np.abs(q).astype(np.float64) @ np.abs(k.astype(np.float64)).T
    assert fast.shape == (group, n_rows)
    assert np.all(np.abs(fast - exact) <= 1e-5 * scale)
    assert np.all(np.abs(ref - exact) <= 1e-5 * scale)


@pytest.mark.parametrize("n", [1, 8, 31, 100])
def test_exp_sum_matches_libm(n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 20).astype(np.float32)
    x[0] = 0.0
    shift = float(x.max())
    fast, s_fast = _core_testing.exp_sum(x, shift)
    ref, s_ref = _core_testing.exp_sum(x, shift, reference=True)
    exact = np.exp((x - np.float32(shift)).astype(np.float64))   # the kernels subtract in float32
    np.testing.assert_allclose(fast, exact, rtol=3e-7, atol=1e-37)
    np.testing.assert_allclose(ref, exact, rtol=3e-7, atol=1e-37)
    assert abs(s_fast - exact.sum()) <= 1e-6 * exact.sum()
    assert abs(s_ref - exact.sum()) <= 1e-6 * exact.sum()
