"""F32/F16/BF16 and the legacy 32-element quant formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).

Checked against the `gguf` package (a port of ggml's reference quantizers, written by nobody
here): dequantize and quantize must be bit-exact. The dot products are checked three ways: the
fast path against the scalar reference, the reference against the exact float dot of the
dequantized weights with the decoded A8_32 activations, and that against the plain float dot.
"""

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from gguf import quants as gq

import llmrt
from llmrt import _core, _core_testing

QUANT = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
FLOAT = [T.F32, T.F16, T.BF16]
ALL = FLOAT + QUANT
A8_32 = 1

# Byte offsets of the fp16 scale fields (d, and m where present) in each block.
SCALE_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0]}

# Relative tolerance (of sum |w_i x_i|) of the reference dot against the plain float dot: the
# error the 8-bit activation quantization brings (about 1/254 per element, averaging out).
ACT_TOL = 0.02


def info(t):
    return _core.type_info(int(t))


def random_blocks(t, n_blocks, rng):
    """Random raw blocks of a quantized type: random quants, finite random fp16 scales."""
    size = info(t)["type_size"]
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for off in SCALE_FIELDS[t]:
        scale = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = scale.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def random_raw(t, n, rng):
    """n elements of type t as raw bytes."""
    if t == T.F32:
        return rng.standard_normal(n).astype(np.float32).view(np.uint8)
    if t == T.F16:
        return rng.standard_normal(n).astype(np.float16).view(np.uint8)
    if t == T.BF16:
        return gq.quantize(rng.standard_normal(n).astype(np.float32), T.BF16).view(np.uint8).reshape(-1)
    return random_blocks(t, n // 32, rng)


def decode_a8_32(x):
    """The activation row exactly as the quantized dot products see it (block_a8_32: d, s, qs[32])."""
    raw = _core_testing.prepare_activations(A8_32, x.astype(np.float32)).reshape(-1, 40)
    d = raw[:, 0:4].copy().view(np.float32)
    qs = raw[:, 8:40].copy().view(np.int8).astype(np.float64)
    return (d.astype(np.float64) * qs).reshape(-1)


def activations_seen(t, x):
    return x.astype(np.float64) if info(t)["act_format"] == 0 else decode_a8_32(x)


@pytest.mark.parametrize("t", ALL, ids=lambda t: t.name)
def test_dequantize_matches_gguf(t):
    rng = np.random.default_rng(int(t) + 1)
    for n in (32, 96, 4096):
        raw = random_raw(t, n, rng)
        want = gq.dequantize(raw, t).reshape(-1).astype(np.float32)
        got = _core.dequantize(int(t), raw, n)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("t", ALL, ids=lambda t: t.name)
def test_quantize_matches_gguf(t):
    rng = np.random.default_rng(100 + int(t))
    rows = [
        rng.standard_normal(4096).astype(np.float32),
        (rng.standard_normal(1024) * 1e-3).astype(np.float32),
        rng.uniform(0.5, 2.0, 1024).astype(np.float32),            # all positive (min > 0)
        np.zeros(64, np.float32),                                   # d == 0
        np.tile(np.float32([1, -1, 0.25, 3]), 8),                   # ties and exact levels
        (rng.integers(-16, 16, 2048) / 8).astype(np.float32),       # many exact halves
    ]
    for x in rows:
        want = np.asarray(gq.quantize(x, t)).view(np.uint8).reshape(-1)
        got = _core.quantize(int(t), x)
        np.testing.assert_array_equal(got, want)


def dot_lengths(t):
    base = [32, 64, 96, 160, 576, 1536, 4096 + 32]
    if info(t)["block_size"] == 1:
        base += [1, 7, 8, 9, 31, 33, 63, 65, 577]  # tails of the float kernels
    else:
        base += [32 * k for k in (3, 5, 7, 9, 17, 33)]  # odd block counts: two-block loop tails
    return base


@pytest.mark.parametrize("t", ALL, ids=lambda t: t.name)
def test_vec_dot_fast_matches_reference(t):
    rng = np.random.default_rng(200 + int(t))
    for n in dot_lengths(t):
        w = random_raw(t, n, rng)
        x = rng.standard_normal(n).astype(np.float32)
        ref = _core_testing.vec_dot(int(t), w, x, reference=True)
        fast = _core_testing.vec_dot(int(t), w, x, reference=False)
        scale = np.abs(_core.dequantize(int(t), w, n).astype(np.float64)) @ np.abs(activations_seen(t, x))
        assert abs(fast - ref) <= 1e-5 * scale + 1e-30, (n, fast, ref, scale)


@pytest.mark.parametrize("t", ALL, ids=lambda t: t.name)
def test_vec_dot_reference_is_exact_formula(t):
    rng = np.random.default_rng(300 + int(t))
    for n in (32, 96, 576, 4096):
        w = random_raw(t, n, rng)
        x = rng.standard_normal(n).astype(np.float32)
        wf = _core.dequantize(int(t), w, n).astype(np.float64)
        ref = _core_testing.vec_dot(int(t), w, x, reference=True)
        scale = np.abs(wf) @ np.abs(activations_seen(t, x))
        # against what the kernel sees: only float rounding of the per-block sums may differ
        exact = wf @ activations_seen(t, x)
        assert abs(ref - exact) <= 1e-5 * scale, (n, ref, exact, scale)
        # against the unquantized activations: within the 8-bit activation error
        plain = wf @ x.astype(np.float64)
        tol = 1e-6 if info(t)["act_format"] == 0 else ACT_TOL
        assert abs(ref - plain) <= tol * scale, (n, ref, plain, scale)


@pytest.mark.parametrize("t", QUANT, ids=lambda t: t.name)
def test_vec_dot_on_quantized_weights(t):
    """Realistic weights (quantized from floats) against the float dot of the original rows."""
    rng = np.random.default_rng(400 + int(t))
    n = 1536
    wf = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal(n).astype(np.float32)
    w = _core.quantize(int(t), wf)
    got = _core_testing.vec_dot(int(t), w, x)
    scale = np.abs(wf.astype(np.float64)) @ np.abs(x.astype(np.float64))
    assert abs(got - float(wf.astype(np.float64) @ x)) <= 0.05 * scale


@pytest.mark.parametrize("t", QUANT, ids=lambda t: t.name)
def test_errors(t):
    x = np.ones(33, np.float32)
    with pytest.raises(llmrt.QuantError):
        _core.quantize(int(t), x)
    with pytest.raises(llmrt.QuantError):
        _core.dequantize(int(t), np.zeros(1000, np.uint8), 33)
    with pytest.raises(llmrt.QuantError):
        _core.dequantize(int(t), np.zeros(3, np.uint8), 64)  # too few bytes
    with pytest.raises(llmrt.QuantError):
        _core_testing.vec_dot(int(t), np.zeros(1000, np.uint8), x)
    with pytest.raises(llmrt.QuantError):
        _core_testing.vec_dot(int(t), np.zeros(10, np.uint8), np.ones(64, np.float32))  # short row


@pytest.mark.parametrize("t", ALL, ids=lambda t: t.name)
def test_type_info(t):
    d = info(t)
    assert d["name"] == t.name
    assert d["can_dequantize"] and d["can_quantize"] and d["can_dot"]
    assert d["act_format"] == (0 if t in FLOAT else A8_32)


def test_scalar_level_uses_reference():
    """Under LLMRT_SIMD=scalar the table's fast path is the reference (bit-identical results)."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from llmrt import _core, _core_testing\n"
        "rng = np.random.default_rng(7)\n"
        "x = rng.standard_normal(4096).astype(np.float32)\n"
        "for t in (0, 1, 30, 2, 3, 6, 7, 8):\n"
        "    w = _core.quantize(t, rng.standard_normal(4096).astype(np.float32))\n"
        "    assert _core_testing.vec_dot(t, w, x) == _core_testing.vec_dot(t, w, x, reference=True), t\n"
    )
    env = dict(os.environ, LLMRT_SIMD="scalar")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
