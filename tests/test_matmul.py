"""The forward pass's matmul (csrc/ops/matmul.cpp) against exact arithmetic.

Types with a 4-row tile kernel (csrc/quant/*tile_avx2.cpp: the 32-element formats and Q4_K on
AVX2) run every call of 2+ tokens through it; other types with an unpacker ("can_unpack": Q5_K,
or the 32-element formats in a scalar build) go through the unpacked prefill kernel
(csrc/quant/unpacked*.cpp, 32-element activation blocks) from _core_testing.unpack_min_tokens tokens on;
everything else uses the types' vec_dot / vec_dot_multi with their own activation format. Either way the result must
equal dequantize(W) . (the activations as quantized) up to float summation order, for every
type, thread count and ragged token count.

Types with a packed layout (quant/packed.h: Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 and Q2_K..Q6_K, groups of
8 rows on AVX2, 16 on AVX-512 VNNI; IQ4_XS likewise, IQ4_NL on AVX-512 VNNI only), which model loading builds for every matrix of a multiple of
the group size, run every token count through the packed kernels; with packed=True,
_core_testing.matmul repacks the rows first, as loading does. tests/test_simd_levels.py checks that the
two levels' kernels agree bit for bit.
"""

import numpy as np
import pytest

from llmrt import _core, _core_testing

TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
         "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "IQ4_NL": 20, "IQ4_XS": 23, "BF16": 30}


@pytest.mark.parametrize("name", list(TYPES))
@pytest.mark.parametrize("n_tokens", [1, 2, 3, 4, 5, 8, 31, 32, 37])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_out", [12, 14])  # whole 4-row tiles, and two rows left over
def test_matmul_equals_row_dots(name, n_tokens, n_threads, n_out):
    t = TYPES[name]
    rng = np.random.default_rng(t * 100 + n_tokens + n_out)
    n_in = 512
    weights = rng.standard_normal((n_out, n_in)).astype(np.float32)
    w = np.concatenate([_core.quantize(t, row) for row in weights])
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    y = _core_testing.matmul(t, w, n_in, x, n_threads=n_threads)
    assert y.shape == (n_tokens, n_out)
    info = _core.type_info(t)
    fmt = 1 if (info["can_unpack"] and n_tokens >= _core_testing.unpack_min_tokens) else info["act_format"]
    wf = _core.dequantize(t, w, n_in * n_out).astype(np.float64).reshape(n_out, n_in)
    for tok in range(n_tokens):
        a = activations_seen(fmt, x[tok])
        expected = wf @ a
        scale = np.abs(wf) @ np.abs(a)
        assert np.all(np.abs(y[tok] - expected) <= 1e-5 * scale + 1e-6), (name, tok)



@pytest.mark.parametrize("name", list(TYPES))
@pytest.mark.parametrize("n_tokens", [2, 4, 5, 7, 8])
def test_batched_decode_matches_one_token_at_a_time(name, n_tokens):
    """Several tokens per call (the tiles, or the multi-column dot in groups of 4 plus a tail) give
    each token the same result as a call with that token alone (the one-row kernel), to float
    rounding."""
    t = TYPES[name]
    rng = np.random.default_rng(t * 100 + n_tokens + 7)
    n_in, n_out = 768, 9
    w = np.concatenate([_core.quantize(t, row) for row in rng.standard_normal((n_out, n_in)).astype(np.float32)])
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    y = _core_testing.matmul(t, w, n_in, x, n_threads=2)
    for tok in range(n_tokens):
        one = _core_testing.matmul(t, w, n_in, x[tok:tok + 1], n_threads=1)[0]
        np.testing.assert_allclose(y[tok], one, rtol=1e-5, atol=1e-5 * np.abs(one).max())

@pytest.mark.parametrize("fmt", [1, 2])
def test_simd_activation_quantizer_is_bit_exact(fmt):
    """The AVX2 activation quantizer gives the scalar reference's bytes (scales, sums, quants),
    including rounding ties, zero blocks, large magnitudes and fp16-subnormal scales."""
    rng = np.random.default_rng(fmt)
    x = rng.standard_normal(4096).astype(np.float32) * 3
    x[:32] = 0.0
    x[256:288] = np.round(rng.standard_normal(32) * 50) / 2  # many exact .5 ties after scaling
    x[512:768] *= 1e4
    x[1024:1280] *= 1e-6                                # block scales that are fp16 subnormals
    x[1280:1536] *= 1e-9                                # ... and that round to zero
    fast = _core_testing.prepare_activations(fmt, x)
    ref = _core_testing.prepare_activations(fmt, x, reference=True)
    assert np.array_equal(fast, ref)


def activations_seen(fmt, x):
    """The activation row as the kernels see it after 8-bit preparation (csrc/quant/blocks.h)."""
    if fmt == 0:
        return x.astype(np.float64)
    raw = _core_testing.prepare_activations(fmt, x)
    if fmt == 1:  # block_a8_32 { float d; float s; int8 qs[32]; }
        blocks = raw.reshape(-1, 40)
        d = blocks[:, :4].copy().view(np.float32).astype(np.float64)
        qs = blocks[:, 8:].copy().view(np.int8).astype(np.float64)
    else:  # block_a8_256 { float d; int8 qs[256]; int16 bsums[16]; }
        blocks = raw.reshape(-1, 292)
        d = blocks[:, :4].copy().view(np.float32).astype(np.float64)
        qs = blocks[:, 4:260].copy().view(np.int8).astype(np.float64)
    return (d * qs).reshape(-1)


PACKABLE = [n for n, t in TYPES.items() if _core_testing.can_pack(t, 512, 16)]


@pytest.mark.skipif(not PACKABLE, reason="no packed layouts in this build (scalar or non-x86)")
@pytest.mark.parametrize("name", PACKABLE)
@pytest.mark.parametrize("n_tokens", [1, 2, 5, 8, 9, 17, 37])
@pytest.mark.parametrize("n_threads", [1, 2, 5])  # 5 threads on fewer cores: shares get stolen
@pytest.mark.parametrize("n_out", [16, 48])
def test_packed_matmul_equals_row_dots(name, n_tokens, n_threads, n_out):
    t = TYPES[name]
    rng = np.random.default_rng(t * 100 + n_tokens + n_out + 3)
    n_in = 512
    w = np.concatenate([_core.quantize(t, row) for row in rng.standard_normal((n_out, n_in)).astype(np.float32)])
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    x[0] *= 50.0                                   # a column of a different scale
    y = _core_testing.matmul(t, w, n_in, x, n_threads=n_threads, packed=True)
    wf = _core.dequantize(t, w, n_in * n_out).astype(np.float64).reshape(n_out, n_in)
    fmt = _core.type_info(t)["act_format"]
    for tok in range(n_tokens):
        a = activations_seen(fmt, x[tok])
        scale = np.abs(wf) @ np.abs(a)
        assert np.all(np.abs(y[tok] - wf @ a) <= 1e-5 * scale + 1e-6), (name, tok)
    info = _core.type_info(t)
    if not (info["can_unpack"] and n_tokens >= _core_testing.unpack_min_tokens):
        # the unpacked layout's kernels then read the same activations: equal to float rounding
        # (from unpack_min_tokens on, Q5_K's unpacked path quantizes them in 32-element blocks)
        np.testing.assert_allclose(y, _core_testing.matmul(t, w, n_in, x, n_threads=n_threads), rtol=1e-5,
                                   atol=1e-5 * np.abs(y).max())


def test_packed_layout_needs_whole_groups_of_eight_rows():
    assert not _core_testing.can_pack(3, 512, 12)
    from llmrt import QuantError

    with pytest.raises(QuantError, match="packed"):
        _core_testing.matmul(3, np.zeros(20 * 12 * 16, np.uint8), 512, np.zeros((2, 512), np.float32), packed=True)


def test_matmul_rejects_bad_shapes():
    from llmrt import QuantError

    with pytest.raises(QuantError):
        _core_testing.matmul(8, np.zeros(34 * 3, np.uint8), 32, np.zeros((2, 64), np.float32))
    with pytest.raises(QuantError):
        _core_testing.matmul(8, np.zeros(35, np.uint8), 32, np.zeros((2, 32), np.float32))
