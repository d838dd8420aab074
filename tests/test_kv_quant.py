"""Quantized KV caches (q8_0, q4_0; csrc/kv_rows.*, csrc/ops/kv_quant*.cpp).

Keys: the query heads are quantized to int16 once (one scale per head, error <= 2^-16 of the
head's largest element) and meet each block in exact integer arithmetic; values: blocks are
dequantized to float on the fly. So against a float64 attention over the *dequantized* cache the
results agree to ~1e-4 of the output scale (tight; measured 4.9e-5 at worst, bound 2e-4), and
against an fp16 cache to the cache quantization error (loose; q8_0 measured 0.020 at worst, q4_0
0.25). The scalar, AVX2 and AVX-512 paths sum the same integers and differ only in float
summation order. In a model, quantized caches hold K and V in a Hadamard basis (ops/hadamard.h).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import llmrt
from llmrt import _core, _core_testing
from llmrt.convert import random_model

QUANT = ["q8_0", "q4_0"]


def reference_attention(q, k, v, visible, n_head_kv, scale, softcap=0.0):
    """float64 attention; q (T, H, D), k / v (C, n_head_kv * D) already dequantized."""
    q = q.astype(np.float64)
    T, H, D = q.shape
    group = H // n_head_kv
    out = np.zeros((T, H, D))
    for t in range(T):
        cells = np.array(visible[t])
        for h in range(H):
            kv = h // group
            kh = k[cells, kv * D:(kv + 1) * D].astype(np.float64)
            vh = v[cells, kv * D:(kv + 1) * D].astype(np.float64)
            s = kh @ q[t, h] * scale
            if softcap:
                s = softcap * np.tanh(s / softcap)
            p = np.exp(s - s.max())
            out[t, h] = p @ vh / p.sum()
    return out


def attention_case(seed, n_tokens, n_head, n_head_kv, head_dim, n_cells):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n_tokens, n_head, head_dim)).astype(np.float32)
    k = rng.standard_normal((n_cells, n_head_kv * head_dim)).astype(np.float32)
    v = rng.standard_normal((n_cells, n_head_kv * head_dim)).astype(np.float32)
    # each token sees a different, unordered subset (ragged tiles, split chunks)
    visible = [sorted(rng.choice(n_cells, size=int(rng.integers(1, n_cells + 1)), replace=False).tolist())
               for _ in range(n_tokens)]
    return q, k, v, visible


# ---- row storage ----------------------------------------------------------------------------

def awkward_rows(n=192):
    """Rows whose quantization has ties to break: exact halves, equal magnitudes of both signs,
    an all-zero block, tiny and huge scales."""
    rng = np.random.default_rng(1)
    halves = (rng.integers(-127, 128, n) + 0.5).astype(np.float32)
    signs = np.tile(np.array([-2.0, 2.0] + [0.5 * i for i in range(-15, 15)], np.float32), n // 32)
    zeros = np.concatenate([np.zeros(32, np.float32), rng.standard_normal(n - 32).astype(np.float32)])
    return np.stack([rng.standard_normal(n).astype(np.float32), halves, signs, zeros,
                     rng.standard_normal(n).astype(np.float32) * 1e-4, rng.standard_normal(n).astype(np.float32) * 3e4])


@pytest.mark.parametrize("name,type_id", [("q8_0", 8), ("q4_0", 2)])
def test_rows_are_ggml_blocks(name, type_id):
    """The cache writes the registry's (ggml's reference) quantizer blocks, bit for bit (its AVX2
    quantizers included), and reads them back."""
    x = awkward_rows()
    stored = _core_testing.kv_store(name, x)
    assert stored.shape == (len(x), _core.kv_row_bytes(name, 192))
    for r in range(len(x)):
        assert stored[r].tobytes() == np.asarray(_core.quantize(type_id, x[r])).tobytes()
        np.testing.assert_array_equal(_core_testing.kv_load(name, stored[r:r + 1], 192)[0],
                                      _core.dequantize(type_id, stored[r], 192))


def test_row_sizes():
    assert [_core.kv_row_bytes(t, 64) for t in ("f32", "f16", "q8_0", "q4_0")] == [256, 128, 68, 36]


# ---- kernels and the attention op -----------------------------------------------------------

@pytest.mark.parametrize("name", QUANT)
@pytest.mark.parametrize("group", [1, 2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("n", [32, 64, 96, 256])
def test_tile_kernels_against_dequantized_rows(name, group, n):
    rng = np.random.default_rng(group * 1000 + n)
    q = rng.standard_normal((group, n)).astype(np.float32)
    rows = _core_testing.kv_store(name, rng.standard_normal((37, n)).astype(np.float32))
    deq = _core_testing.kv_load(name, rows, n).astype(np.float64)
    exact = q.astype(np.float64) @ deq.T
    # int16 query: each element off by <= half a step of its head's scale
    bound = 0.5 * np.abs(q).max(axis=1, keepdims=True) / 32767 * np.abs(deq).sum(axis=1) + 1e-6 * np.abs(exact)
    for ref in (False, True):
        assert np.all(np.abs(_core_testing.kv_dot_tile(name, q, rows, reference=ref) - exact) <= bound)
    y = rng.standard_normal((group, n)).astype(np.float32)
    p = rng.random((group, 37)).astype(np.float32)
    want = y + p.astype(np.float64) @ deq
    for ref in (False, True):
        assert np.abs(_core_testing.kv_axpy_tile(name, y, p, rows, reference=ref) - want).max() < 2e-5 * np.abs(want).max()


@pytest.mark.parametrize("k_type,v_type", [("q8_0", "q8_0"), ("q4_0", "q4_0"), ("q8_0", "f16"), ("f16", "q4_0"),
                                           ("q4_0", "q8_0"), ("f32", "q8_0")])
@pytest.mark.parametrize("shape", [(1, 9, 3, 64, 300), (5, 4, 1, 256, 70), (3, 8, 8, 32, 40), (2, 6, 2, 96, 129)])
@pytest.mark.parametrize("softcap", [0.0, 20.0])
def test_attention_against_float64_of_the_cache(k_type, v_type, shape, softcap):
    n_tokens, n_head, n_head_kv, head_dim, n_cells = shape
    q, k, v, visible = attention_case(sum(shape), *shape)

    def stored(t, x):
        if t == "f32":
            return x, None, x
        if t == "f16":
            return x.astype(np.float16), None, x.astype(np.float16)
        rows = _core_testing.kv_store(t, x)
        return rows, t, _core_testing.kv_load(t, rows, x.shape[1])

    (kc, kt, kd), (vc, vt, vd) = stored(k_type, k), stored(v_type, v)
    scale = 1 / np.sqrt(head_dim)
    want = reference_attention(q, kd, vd, visible, n_head_kv, scale, softcap)
    for threads in (1, 3):
        got = _core_testing.attention(q, kc, vc, visible, n_head_kv, scale, softcap, threads, k_type=kt, v_type=vt)
        # scores off by <= ~1e-4 (int16 query), outputs are convex mixes of V rows of norm ~1
        assert np.abs(got - want).max() < 2e-4, (threads, float(np.abs(got - want).max()))


@pytest.mark.parametrize("name,tol", [("q8_0", 0.03), ("q4_0", 0.35)])
def test_attention_close_to_fp16_cache(name, tol):
    q, k, v, visible = attention_case(7, 4, 9, 3, 64, 500)
    q *= 2.0  # peaked enough that the softmax does not average the errors away
    f16 = _core_testing.attention(q, k.astype(np.float16), v.astype(np.float16), visible, 3, 0.125)
    quant = _core_testing.attention(q, _core_testing.kv_store(name, k), _core_testing.kv_store(name, v), visible, 3, 0.125,
                            k_type=name, v_type=name)
    err = np.abs(quant - f16)
    assert err.max() < tol and err.mean() < tol / 5, (float(err.max()), float(err.mean()))


def test_attention_rejects_bad_caches():
    q = np.zeros((1, 2, 64), np.float32)
    rows = _core_testing.kv_store("q8_0", np.zeros((4, 64), np.float32))
    with pytest.raises(ValueError):   # bytes without a type name
        _core_testing.attention(q, rows, rows, [[0]], 1, 1.0)
    with pytest.raises(ValueError):   # rows of the wrong length for the type
        _core_testing.attention(q, rows, rows, [[0]], 1, 1.0, k_type="q4_0", v_type="q4_0")
    with pytest.raises(llmrt.ContextError):
        _core_testing.attention(q, rows, rows, [[0]], 1, 1.0, k_type="q5_0", v_type="q8_0")
    q16 = np.zeros((1, 2, 16), np.float32)
    with pytest.raises(llmrt.ContextError, match="blocks of 32"):
        _core_testing.attention(q16, np.zeros((4, 16), np.uint8), np.zeros((4, 16), np.float16), [[0]], 1, 1.0, k_type="q8_0")


SIMD_LEVELS = textwrap.dedent("""
    import sys
    import numpy as np
    from llmrt import _core, _core_testing
    sys.path.insert(0, sys.argv[2])
    from test_kv_quant import attention_case, awkward_rows
    out = {name: _core_testing.kv_store(name, awkward_rows()) for name in ("q8_0", "q4_0")}
    out["hadamard"] = np.concatenate([_core_testing.hadamard(awkward_rows(256), b) for b in (64, 256)])
    for name in ("q8_0", "q4_0"):
        for shape in ((1, 9, 3, 64, 300), (5, 4, 1, 256, 70), (3, 10, 2, 32, 45)):
            q, k, v, visible = attention_case(3, *shape)
            rows_k, rows_v = _core_testing.kv_store(name, k), _core_testing.kv_store(name, v)
            out[f"{name}{shape}"] = _core_testing.attention(q, rows_k, rows_v, visible, shape[2], 0.1, 0.0, 2,
                                                    k_type=name, v_type=name)
            out[f"dot{name}{shape}"] = _core_testing.kv_dot_tile(name, q[0], rows_k[:, :_core.kv_row_bytes(name, shape[3])].copy())
    np.savez(sys.argv[1], level=_core.simd_level(), **out)
""")


def test_simd_levels_agree(tmp_path):
    """Each path the CPU allows (LLMRT_SIMD caps it) against the scalar one: the same integer
    sums, float steps in another order."""
    levels = ["scalar", "avx2", "avx512"]
    levels = levels[:levels.index(_core.simd_level()) + 1]
    results = {}
    for level in levels:
        dst = tmp_path / f"{level}.npz"
        env = dict(os.environ, LLMRT_SIMD=level)
        subprocess.run([sys.executable, "-c", SIMD_LEVELS, str(dst), os.path.dirname(__file__)], env=env, check=True)
        results[level] = np.load(dst)
        assert str(results[level]["level"]) == level
    base = results["scalar"]
    for level in levels[1:]:
        for name in ("q8_0", "q4_0", "hadamard"):
            np.testing.assert_array_equal(results[level][name], base[name])  # stored rows: bit for bit
        for key in base.files:
            if key not in ("level", "q8_0", "q4_0", "hadamard"):
                np.testing.assert_allclose(results[level][key], base[key], rtol=1e-4, atol=2e-5, err_msg=key)


# ---- the context: types, sizes, shift and copy ----------------------------------------------

@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    """2 layers, 2 query heads sharing 1 KV head of 64 dims (quantized caches store it rotated)."""
    out = tmp_path_factory.mktemp("kvq") / "tiny-hd64.gguf"
    return random_model.write_random(out, None, "llama", "q8_0", seed=3, threads=1, progress=False, hidden=128,
                                     layers=2, heads=2, kv_heads=1, ffn=128, vocab=512, context=256)


@pytest.fixture(scope="module")
def tiny_hd16_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("kvq") / "tiny-hd16.gguf"
    return random_model.write_random(out, None, "llama", "q8_0", seed=3, threads=1, progress=False, hidden=64,
                                     layers=2, heads=4, kv_heads=2, ffn=128, vocab=512, context=256)


def test_types_and_sizes(tiny_path):
    per = {}
    for t in ("f32", "f16", "q8_0", "q4_0"):
        llm = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type=t)
        assert (llm.kv_type_k, llm.kv_type_v) == (t, t) == (llm._ctx.type_k, llm._ctx.type_v)
        per[t] = llm.kv_bytes_per_token
        assert llm.stats["kv_bytes"] == per[t] * 64
    # 2 layers x (K + V) x 64 elements
    assert per == {"f32": 1024, "f16": 512, "q8_0": 272, "q4_0": 144}
    mixed = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type_k="q8_0", kv_type_v="Q4_0")
    assert (mixed._ctx.type_k, mixed._ctx.type_v) == ("q8_0", "q4_0") and mixed.kv_bytes_per_token == 2 * (68 + 36)
    one_side = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type="f32", kv_type_v="q8_0")
    assert (one_side.kv_type_k, one_side.kv_type_v) == ("f32", "q8_0")
    assert len(mixed.generate("ab", max_tokens=4, temperature=0)) >= 0


@pytest.mark.parametrize("kwargs", [{"kv_type": "q5_0"}, {"kv_type_k": "int8"}, {"kv_type_v": ""},
                                    {"kv_type": 8}, {"kv_type_k": None, "kv_type_v": ["q8_0"]}])
def test_unknown_types_are_context_errors(tiny_path, kwargs):
    with pytest.raises(llmrt.ContextError, match="f32, f16, q8_0, q4_0"):
        llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, **kwargs)


def test_native_context_checks_types(tiny_path, tiny_hd16_path):
    llm = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1)
    with pytest.raises(llmrt.ContextError, match="unknown KV cache type 'bf16'"):
        _core.Context(llm._model, 16, 1, 1, "bf16")
    assert _core.Context(llm._model, 16, 1, 1, "q4_0").type_v == "q4_0"  # type_v follows type_k
    with pytest.raises(llmrt.ContextError, match="heads have 16"):
        llmrt.LLM(tiny_hd16_path, n_ctx=64, n_threads=1, kv_type_v="q4_0")
    small = llmrt.LLM(tiny_hd16_path, n_ctx=64, n_threads=1)
    with pytest.raises(llmrt.ContextError, match="heads have 16"):
        _core.Context(small._model, 16, 1, 1, "f16", "q8_0")


def decode_into(ctx, tokens, positions, cells, seq=0):
    """Claims `cells` for `seq` at `positions` and decodes; logits of the last token."""
    n = len(tokens)
    ctx.cell_pos[cells] = positions
    ctx.cell_seqs[cells] |= np.uint64(1 << seq)
    want = np.zeros(n, np.uint8)
    want[-1] = 1
    return ctx.decode(np.array(tokens, np.int32), np.array(positions, np.int32), np.full(n, seq, np.int32),
                      np.array(cells, np.int32), want)[-1]


@pytest.mark.parametrize("t", ["f16", "q8_0", "q4_0"])
def test_kv_copy_moves_row_bytes(tiny_path, t):
    llm = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, n_seq_max=2, kv_type=t)
    ctx = llm._ctx
    tokens = list(range(10, 22))
    src, dst = np.arange(12), np.arange(30, 42)
    decode_into(ctx, tokens, np.arange(12), src)
    ctx.kv_copy(src.astype(np.int32), dst.astype(np.int32))
    ctx.cell_pos[dst] = np.arange(12)
    ctx.cell_seqs[dst] = 2
    for layer in range(2):
        for a, b in zip(ctx.kv_rows(layer, src), ctx.kv_rows(layer, dst)):
            np.testing.assert_array_equal(a, b)
    # both sequences now continue alike, bit for bit
    ctx.cell_pos[[50, 51]] = 12
    ctx.cell_seqs[50], ctx.cell_seqs[51] = 1, 2
    out = ctx.decode(np.array([7, 7], np.int32), np.array([12, 12], np.int32), np.array([0, 1], np.int32),
                     np.array([50, 51], np.int32), np.ones(2, np.uint8))
    np.testing.assert_array_equal(out[0], out[1])


# per element, in steps of the row block's scale: f32/f16 are near-exact; the quantized types
# re-round after rotating (dequantize, rotate, quantize: about two half-steps off a direct store)
SHIFT_TOL = {"f32": 1e-5, "f16": 2e-3, "q8_0": 2.2 / 127, "q4_0": 2.2 / 8}


@pytest.mark.parametrize("t", ["f32", "f16", "q8_0", "q4_0"])
def test_kv_shift_rerotates_stored_keys(tiny_path, t):
    """Keys stored at positions p and shifted by +delta match keys stored at p + delta directly.
    Layer 0 only: its keys before RoPE come from the embeddings alone, whereas deeper layers'
    see attention outputs whose float rounding (and 8-bit activation rounding) depends on the
    absolute positions."""
    delta = 7
    tokens = list(range(40, 56))
    cells = np.arange(len(tokens))
    shifted = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type=t)._ctx
    direct = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type=t)._ctx
    decode_into(shifted, tokens, cells, cells)
    v_before = [shifted.kv_rows(layer, cells)[1] for layer in range(2)]
    shifted.kv_shift(cells.astype(np.int32), delta)
    decode_into(direct, tokens, cells + delta, cells)
    a, b = (_core_testing.kv_load(t, ctx.kv_rows(0, cells)[0], 64) for ctx in (shifted, direct))
    assert np.all(np.abs(a - b) <= SHIFT_TOL[t] * np.abs(b).max(axis=1, keepdims=True) + 1e-6)
    assert np.abs(a - b).max() > 0 or t == "f32"  # the check can fail
    for layer in range(2):
        np.testing.assert_array_equal(shifted.kv_rows(layer, cells)[1], v_before[layer])  # values do not move


def test_hadamard_is_an_orthonormal_involution():
    x = np.random.default_rng(4).standard_normal((3, 256)).astype(np.float32)
    for block in (1, 2, 64, 256):
        y = _core_testing.hadamard(x, block)
        np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-5)
        np.testing.assert_allclose(_core_testing.hadamard(y, block), x, atol=1e-5)
    h = _core_testing.hadamard(np.eye(4, dtype=np.float32), 4)
    np.testing.assert_allclose(h * 2, [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], atol=1e-6)
    # K: the largest power of two from 64 up dividing the head; V: 64; none below 64
    assert [_core_testing.hadamard_blocks(d) for d in (32, 64, 96, 128, 192, 256)] == \
        [(0, 0), (64, 64), (0, 0), (128, 64), (64, 64), (256, 64)]


@pytest.mark.parametrize("t", ["q8_0", "q4_0"])
def test_quantized_rows_hold_rotated_keys_and_values(tiny_path, t):
    """Layer 0's stored rows against the f32 cache's, rotated: equal up to the quantization."""
    tokens, cells = list(range(60, 80)), np.arange(20)
    f32 = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type="f32")._ctx
    quant = llmrt.LLM(tiny_path, n_ctx=64, n_threads=1, kv_type=t)._ctx
    decode_into(f32, tokens, cells, cells)
    decode_into(quant, tokens, cells, cells)
    # q8_0: half a step of max/127 (plus d's fp16 rounding); q4_0: steps of max/8, and a whole
    # one where the side opposite the block's extreme is clamped (-max -> 7/8 max)
    steps, tol = {"q8_0": (127, 0.6), "q4_0": (8, 1.05)}[t]
    for exact, stored in zip(f32.kv_rows(0, cells), quant.kv_rows(0, cells)):
        want = _core_testing.hadamard(exact.view(np.float32), 64)
        got = _core_testing.kv_load(t, stored, 64)
        block_max = np.abs(want.reshape(-1, 32)).max(axis=1, keepdims=True)
        assert np.all(np.abs(got - want).reshape(-1, 32) <= tol * block_max / steps + 1e-6)


@pytest.mark.parametrize("t", ["q8_0", "q4_0"])
def test_context_shift_generation_runs_quantized(tiny_path, t):
    """Past n_ctx the engine drops half the tokens and re-rotates the rest (kv_shift)."""
    llm = llmrt.LLM(tiny_path, n_ctx=32, n_threads=1, kv_type=t)
    out = llm.generate_tokens("abc", max_tokens=80, temperature=0, ignore_eos=True)
    assert len(out.tokens) == 80 and llm.stats["context_shifts"] > 0


# ---- a real model ---------------------------------------------------------------------------

GREEDY_MARGIN = 0.25  # logits; measured: q8_0 picks another token only where f16's top-2 gap <= 0.13


def test_smollm2_q8_0_greedy_follows_f16(smollm2_path):
    """Greedy decoding with a q8_0 cache against fp16, on the parity prompts, 64 tokens each.
    Measured (5 prompts, 233 steps): along fp16's greedy path q8_0's argmax differs at 4 steps,
    where fp16's own top-2 margin is 0.07-0.13 logits, and fp16's token is always in q8_0's top 2;
    free-running, the two continuations are identical up to the first such near-tie."""
    import json
    from pathlib import Path

    prompts = json.loads((Path(__file__).parent / "data" / "reference_smollm2-135m.json").read_text())["prompts"]
    f16 = llmrt.LLM(smollm2_path, n_ctx=512, n_threads=2)
    q8 = llmrt.LLM(smollm2_path, n_ctx=512, n_threads=2, kv_type="q8_0")
    steps = 0
    for prompt in prompts:
        ids = prompt["tokens"]
        greedy = f16.generate_tokens(ids, max_tokens=64, temperature=0).tokens
        ours = q8.generate_tokens(ids, max_tokens=64, temperature=0).tokens
        a = f16.logits(ids + greedy)[len(ids) - 1:-1]
        b = q8.logits(ids + greedy)[len(ids) - 1:-1]
        top2 = np.sort(a, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        choice = a.argmax(axis=1)
        assert np.all((b.argmax(axis=1) == choice) | (margin <= GREEDY_MARGIN))
        rank = (b > b[np.arange(len(b)), choice][:, None]).sum(axis=1)
        assert rank.max() <= 1
        near_tie = np.flatnonzero(margin <= GREEDY_MARGIN)
        same_until = near_tie[0] if near_tie.size else len(greedy)
        assert ours[:same_until] == greedy[:same_until]
        steps += len(greedy)
    assert steps > 150


def test_cli_cache_type_flags(smollm2_path):
    from llmrt.cli import build_parser

    from test_cli import run_cli

    out = run_cli("-v", "run", str(smollm2_path), "The sky is", "-n", "3", "--temp", "0", "-ctk", "q8_0",
                  "--cache-type-v", "q4_0")
    assert out.returncode == 0, out.stderr
    assert "KV cache q8_0/q4_0" in out.stderr
    bad = run_cli("run", str(smollm2_path), "x", "--cache-type-k", "q5_1")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    args = build_parser().parse_args(["serve", "m", "-ctk", "Q8_0", "-ctv", "q4_0"])
    assert (args.cache_type_k, args.cache_type_v) == ("q8_0", "q4_0")
    args = build_parser().parse_args(["chat", "m"])
    assert (args.cache_type_k, args.cache_type_v) == ("f16", "f16")
    info = run_cli("info", str(smollm2_path)).stdout
    # 30 layers x 3 KV heads x 2 x 64 dims: 2 bytes, 34/32 and 18/32 bytes an element
    assert "KV cache (f16)   22.5 KiB/token" in info
    assert "KV cache (q8_0)  12.0 KiB/token" in info and "KV cache (q4_0)  6.3 KiB/token" in info
