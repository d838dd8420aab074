"""The i-quants and the other table formats: IQ4_NL, IQ4_XS, MXFP4 (16-level tables), IQ2_XXS,
IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S (lattice codebooks) and TQ1_0, TQ2_0 (ternary).

Dequantization is checked bit for bit against the `gguf` package on random blocks; the dot
products (the fast path against the scalar reference, the reference against float64 arithmetic
on the dequantized weights and the activations as quantized); the IQ4 quantizers (llmrt's own,
not ggml's) by round-trip error. The forward pass's matmul over IQ4 weights, packed and not, is
covered by tests/test_matmul.py, whole models by test_packed_weights.py and the last tests here.
"""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType as GQT
from gguf import quants as gq

import llmrt
from llmrt import _core, _core_testing

from test_matmul import activations_seen

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class IType:
    name: str
    block_size: int
    type_size: int
    half_offsets: tuple  # byte offsets of the fp16 scale in a block
    act: int             # ActFormat: 1 = A8_32, 2 = A8_256
    quantize_rmse: float = 0.0  # round-trip RMS error / RMS on unit Gaussian data, upper bound (0: no quantizer)

    @property
    def id(self):
        return int(GQT[self.name])


# Round-trip bounds just above what the quantizers reach (measured 0.0760 and 0.0766; Q4_0 gets
# 0.086, Q4_K 0.071 on the same data).
TYPES = [
    IType("IQ4_NL", 32, 18, (0,), 1, 0.079),
    IType("IQ4_XS", 256, 136, (0,), 2, 0.080),
    IType("MXFP4", 32, 17, (), 1),
    IType("IQ2_XXS", 256, 66, (0,), 2),
    IType("IQ2_XS", 256, 74, (0,), 2),
    IType("IQ2_S", 256, 82, (0,), 2),
    IType("IQ3_XXS", 256, 98, (0,), 2),
    IType("IQ3_S", 256, 110, (0,), 2),
    IType("TQ1_0", 256, 54, (52,), 2),
    IType("TQ2_0", 256, 66, (64,), 2),
]
IDS = [t.name for t in TYPES]
QUANTIZABLE = [t for t in TYPES if t.quantize_rmse]


def random_blocks(t, n_blocks, rng):
    """Random bytes with the fp16 scale set to small finite values of either sign (MXFP4: an
    exponent byte near 2^0, so products stay finite)."""
    raw = rng.integers(0, 256, size=(n_blocks, t.type_size), dtype=np.uint8)
    for off in t.half_offsets:
        h = (rng.standard_normal(n_blocks) * 0.02).astype(np.float16)
        raw[:, off:off + 2] = h.view(np.uint8).reshape(n_blocks, 2)
    if t.name == "MXFP4":
        raw[:, 0] = rng.integers(110, 140, size=n_blocks)
    return raw.reshape(-1)


@pytest.fixture
def rng():
    return np.random.default_rng(4321)


@pytest.mark.parametrize("t", TYPES, ids=IDS)
def test_type_info(t):
    info = _core.type_info(t.id)
    assert (info["name"], info["block_size"], info["type_size"]) == (t.name, t.block_size, t.type_size)
    assert info["can_dequantize"] and info["can_dot"]
    assert info["can_quantize"] == bool(t.quantize_rmse)
    assert info["act_format"] == t.act


@pytest.mark.parametrize("t", TYPES, ids=IDS)
def test_dequantize_matches_gguf(t, rng):
    for n_blocks in (1, 3, 64):
        raw = random_blocks(t, n_blocks, rng)
        ours = _core.dequantize(t.id, raw, n_blocks * t.block_size)
        theirs = gq.dequantize(raw, GQT[t.name]).reshape(-1).astype(np.float32)
        np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))


def test_mxfp4_extreme_exponents_match_gguf():
    """Exponent bytes 0 and 1 give subnormal scales, 254 overflows to inf on the largest codes."""
    raw = np.zeros((6, 17), np.uint8)
    raw[:, 0] = [0, 1, 2, 127, 128, 254]
    raw[:, 1:] = np.arange(16, dtype=np.uint8) * 17   # every code in both nibbles
    with np.errstate(over="ignore"):
        theirs = gq.dequantize(raw.reshape(-1), GQT.MXFP4).reshape(-1).astype(np.float32)
    ours = _core.dequantize(int(GQT.MXFP4), raw.reshape(-1), 6 * 32)
    np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))


@pytest.mark.parametrize("t", TYPES, ids=IDS)
@pytest.mark.parametrize("n", [256, 768, 4096])
def test_vec_dot_fast_matches_reference(t, n, rng):
    for _ in range(3):
        raw = random_blocks(t, n // t.block_size, rng)
        x = rng.standard_normal(n).astype(np.float32)
        x[: n // 4] *= 20.0                      # blocks of different activation scales
        ref = _core_testing.vec_dot(t.id, raw, x, reference=True)
        fast = _core_testing.vec_dot(t.id, raw, x)
        w = _core.dequantize(t.id, raw, n).astype(np.float64)
        scale = float(np.abs(w) @ np.abs(x.astype(np.float64)))
        assert abs(fast - ref) <= 1e-5 * scale + 1e-30, (fast, ref, scale)


@pytest.mark.parametrize("t", TYPES, ids=IDS)
@pytest.mark.parametrize("n", [256, 2048])
def test_vec_dot_reference_matches_float_math(t, n, rng):
    raw = random_blocks(t, n // t.block_size, rng)
    x = rng.standard_normal(n).astype(np.float32)
    w = _core.dequantize(t.id, raw, n).astype(np.float64)
    xa = activations_seen(t.act, x)
    ref = _core_testing.vec_dot(t.id, raw, x, reference=True)
    scale = float(np.abs(w) @ np.abs(xa))
    # the same products in float64: only the float rounding of the block sums differs
    assert abs(ref - float(w @ xa)) <= 2e-6 * scale, (ref, float(w @ xa), scale)
    # against the unquantized activations: within the 8-bit activation error
    assert abs(ref - float(w @ x.astype(np.float64))) <= 0.02 * np.linalg.norm(w) * np.linalg.norm(x)


@pytest.mark.parametrize("t", TYPES, ids=IDS)
@pytest.mark.parametrize("n_tokens", [1, 3, 9])
def test_matmul_of_random_blocks(t, n_tokens, rng):
    """Every type through the forward pass's matmul (the packed layouts where the build has one),
    on random blocks, against float64 arithmetic on what the kernels see."""
    n_in, n_out = 512, 16
    raw = random_blocks(t, n_out * n_in // t.block_size, rng)
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    wf = _core.dequantize(t.id, raw, n_in * n_out).astype(np.float64).reshape(n_out, n_in)
    packs = [False] + ([True] if _core_testing.can_pack(t.id, n_in, n_out) else [])
    for packed in packs:
        y = _core_testing.matmul(t.id, raw, n_in, x, n_threads=2, packed=packed)
        for tok in range(n_tokens):
            a = activations_seen(t.act, x[tok])
            assert np.all(np.abs(y[tok] - wf @ a) <= 1e-5 * (np.abs(wf) @ np.abs(a)) + 1e-6), (t.name, packed, tok)


@pytest.mark.parametrize("t", QUANTIZABLE, ids=lambda t: t.name)
def test_quantize_round_trip(t, rng):
    n = 256 * 64
    x = np.random.default_rng(1234).standard_normal(n).astype(np.float32)
    q = _core.quantize(t.id, x)
    assert q.size == n // t.block_size * t.type_size
    y = _core.dequantize(t.id, q, n)
    np.testing.assert_array_equal(y, gq.dequantize(q, GQT[t.name]).reshape(-1))
    rel = float(np.sqrt(np.mean((y - x) ** 2) / np.mean(x ** 2)))
    assert rel < t.quantize_rmse, rel
    # The search minimizes the x^2-weighted squared error (iq4_quantize.cpp): well below the same
    # grid at the plain scale max / -127 (measured 0.047 / 0.048 against 0.055).
    assert _weighted_rmse(x, y) < 0.9 * _weighted_rmse(x, _max_scale_iq4_nl(x))
    # "refine" has nothing further to offer for these types: the same bytes
    assert _core.quantize(t.id, x, "refine").tobytes() == q.tobytes()


def _weighted_rmse(x, y):
    w = x.astype(np.float64) ** 2
    return float(np.sqrt(np.sum(w * (y - x) ** 2) / np.sum(w * x.astype(np.float64) ** 2)))


def _max_scale_iq4_nl(x):
    """IQ4_NL's grid with d = max / -127 per 32 elements and the nearest levels (no search)."""
    v = np.array(gq.IQ4_NL.kvalues, np.float64)
    xb = x.astype(np.float64).reshape(-1, 32)
    d = (xb[np.arange(xb.shape[0]), np.abs(xb).argmax(axis=1)] / -127.0)[:, None]
    return (d * v[np.abs(xb[:, :, None] / d[:, :, None] - v).argmin(axis=2)]).reshape(-1)


@pytest.mark.parametrize("t", QUANTIZABLE, ids=lambda t: t.name)
def test_quantize_degenerate_blocks(t, rng):
    n = 256
    blocks = [np.zeros(n), np.full(n, 0.75), np.eye(1, n, 37).ravel() * -3.0, rng.standard_normal(n) * 1e-3,
              rng.standard_normal(n) * 1e3, np.where(np.arange(n) % 2, 5.0, -5.0)]
    x = np.concatenate(blocks).astype(np.float32)
    y = _core.dequantize(t.id, _core.quantize(t.id, x), x.size)
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal(y[:n], 0.0)
    for b in range(1, len(blocks)):
        xb, yb = x[b * n:(b + 1) * n], y[b * n:(b + 1) * n]
        assert np.sqrt(np.mean((yb - xb) ** 2)) <= 0.1 * np.max(np.abs(xb)), b
    assert np.all(np.isfinite(_core.dequantize(t.id, _core.quantize(t.id, x * 1e6), x.size)))  # beyond fp16
    assert np.all(np.isfinite(_core.dequantize(t.id, _core.quantize(t.id, x * 1e-9), x.size)))


def test_quantize_bad_lengths_raise():
    with pytest.raises(llmrt.QuantError):
        _core.quantize(int(GQT.IQ4_XS), np.zeros(300, np.float32))
    with pytest.raises(llmrt.QuantError, match="no quantizer"):
        _core.quantize(int(GQT.IQ2_XXS), np.zeros(256, np.float32))


def test_generated_grids_are_current():
    """csrc/quant/iq_grids.inc is what tools/gen_iquant_grids.py makes of the gguf package's tables."""
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_iquant_grids.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("outtype", ["iq4_xs", "iq4_nl"])
def test_requantized_tiny_model_runs(outtype, tmp_path):
    """A tiny random Llama written as F32, then re-quantized by `llmrt quantize` to IQ4_XS / IQ4_NL
    (llama-quantize's mix: attn_v Q5_K once 4 query heads share a KV head, the head Q6_K, the
    token embedding in the file type), loads
    and runs, close to the float model, with and without the packed layouts."""
    from llmrt.cli import main as cli_main
    from llmrt.convert import random_model as rm

    src = tmp_path / "tiny-f32.gguf"
    rm.write_random(src, None, "llama", "f32", seed=5, progress=False, hidden=512, layers=2, heads=8,
                    kv_heads=2, ffn=768, vocab=512, context=64, tied=False)
    out = tmp_path / f"tiny-{outtype}.gguf"
    assert cli_main(["quantize", str(src), str(out), outtype.upper(), "-q", "-t", "2"]) == 0
    types = {t.name: t.type_name for t in llmrt.GGUFFile(out).tensors}
    main_type = outtype.upper()
    assert types["blk.0.attn_q.weight"] == main_type and types["blk.1.ffn_down.weight"] == main_type
    assert types["blk.0.attn_v.weight"] == "Q5_K" and types["output.weight"] == "Q6_K"
    assert types["token_embd.weight"] == main_type    # rows looked up through dequantize
    packed = llmrt.LLM(str(out), n_ctx=64, n_threads=2)
    plain = llmrt.LLM(str(out), n_ctx=64, n_threads=2, repack=False)
    assert plain._model.packed_bytes == 0
    if _core_testing.can_pack(int(GQT[main_type]), 512, 512):
        assert packed._model.packed_bytes > 0
    # Eight tokens: both loads' kernels read the same 8-bit activations (from unpack_min_tokens
    # on, the unpacked load re-quantizes them in 32-element blocks), so they agree to the noise
    # floor of re-quantizing each layer's activations.
    tokens = list(range(5, 13))
    a, b = packed.logits(tokens), plain.logits(tokens)
    assert (np.abs(a - b).max(axis=1) / np.ptp(b, axis=1)).max() < 0.02
    # A prompt long enough for the prefill kernels, against the float model.
    tokens = list(range(5, 45))
    ref = llmrt.LLM(str(src), n_ctx=64, n_threads=2).logits(tokens)
    for llm in (packed, plain):
        got = llm.logits(tokens)
        assert np.isfinite(got).all()
        assert np.corrcoef(ref.ravel(), got.ravel())[0, 1] > 0.95
