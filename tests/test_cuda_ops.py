"""Every CUDA kernel (cuda/*.cu) against the CPU op it mirrors, one launch per case, with a
per-op NMSE limit. Needs a GPU: the module is skipped when _core.cuda_device_count() == 0.

LLMRT_CUDA_OPS_DRY_RUN=1 runs the same cases with CPU stand-ins for the cuda_* functions, to
check the harness itself on machines without a GPU (it proves nothing about the kernels).
"""

import os
from types import SimpleNamespace

import numpy as np
import pytest

from llmrt import _core, _core_testing

DRY_RUN = os.environ.get("LLMRT_CUDA_OPS_DRY_RUN") == "1"

if not DRY_RUN and _core.cuda_device_count() == 0:
    reason = ("llmrt was built without CUDA" if not _core.cuda_available
              else "no CUDA device (no NVIDIA GPU or driver)")
    pytest.skip(f"CUDA kernel tests need a GPU: {reason}", allow_module_level=True)

TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q8_0": 8, "Q4_K": 12, "Q6_K": 14, "BF16": 30}
# NMSE of the GPU result against the CPU's matmul. The 32-element formats quantize activations
# exactly as the CPU does (block_a8_32), so only summation order differs; the K-quants use
# 32-value activation blocks where the CPU uses 256-value ones (measured ~1e-4 with
# cuda_mmvq_host, see test_device.py).
MATMUL_NMSE = {"F32": 1e-10, "F16": 1e-10, "BF16": 1e-10, "Q4_0": 1e-9, "Q4_1": 1e-9, "Q5_0": 1e-9,
               "Q8_0": 1e-9, "Q4_K": 5e-4, "Q6_K": 5e-4}


def nmse(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(((got - ref) ** 2).sum() / max((ref ** 2).sum(), 1e-30))


def visible_cells(cell_pos, cell_seqs, positions, seq_ids, window):
    """The per-token cell lists of the native context (context.cpp build_visibility)."""
    out = []
    for pos, seq in zip(positions, seq_ids):
        ok = (cell_pos >= 0) & (cell_pos <= pos) & (((cell_seqs >> np.uint64(seq)) & np.uint64(1)) == 1)
        if window > 0:
            ok &= pos - cell_pos < window
        out.append(np.nonzero(ok)[0].astype(np.int32))
    return out


def _dry_run_ops():
    def rms_norm(x, w, eps, add=None):
        x = x + add if add is not None else x.copy()
        return _core_testing.rms_norm(x, w, eps), x

    def attention(q, k, v, cell_pos, cell_seqs, positions, seq_ids, n_head_kv, scale, softcap=0.0,
                  sliding_window=0):
        vis = visible_cells(cell_pos, cell_seqs, positions, seq_ids, sliding_window)
        return _core_testing.attention(q, k, v, vis, n_head_kv, scale, softcap)

    return SimpleNamespace(
        quantize_act=lambda x: _core_testing.prepare_activations(1, x), matmul=_core_testing.matmul, rms_norm=rms_norm,
        rope=_core_testing.rope, gated_activation=lambda act, g, u: _core_testing.gated_activation(act, g, u, reference=True),
        softcap=_core_testing.softcap, attention=attention, moe_gating=_core_testing.moe_gating)


gpu = _dry_run_ops() if DRY_RUN else SimpleNamespace(
    quantize_act=_core_testing.cuda_quantize_act, matmul=_core_testing.cuda_matmul, rms_norm=_core_testing.cuda_rms_norm,
    rope=_core_testing.cuda_rope, gated_activation=_core_testing.cuda_gated_activation, softcap=_core_testing.cuda_softcap,
    attention=_core_testing.cuda_attention, moe_gating=_core_testing.cuda_moe_gating)


@pytest.mark.parametrize("n", [32, 256, 4096])
def test_quantize_activations_bit_exact(n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 3
    x[:32] = 0.0  # an all-zero block: d = 0
    assert np.array_equal(gpu.quantize_act(x), _core_testing.prepare_activations(1, x))


@pytest.mark.parametrize("name", list(TYPES))
@pytest.mark.parametrize("n_tokens", [1, 3, 8, 11])
@pytest.mark.parametrize("shape", [(256, 5), (2048, 67)])
def test_matmul(name, n_tokens, shape):
    t = TYPES[name]
    n_in, n_out = shape
    rng = np.random.default_rng(t * 1000 + n_tokens + n_in)
    w = np.concatenate([_core.quantize(t, r) for r in rng.standard_normal((n_out, n_in)).astype(np.float32)])
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    got = gpu.matmul(t, w, n_in, x)
    assert got.shape == (n_tokens, n_out)
    assert nmse(got, _core_testing.matmul(t, w, n_in, x)) < MATMUL_NMSE[name]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("shape", [(1, 64), (7, 576), (3, 4096)])
def test_rms_norm(fused, shape):
    rng = np.random.default_rng(shape[1])
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(shape[1]).astype(np.float32)
    add = rng.standard_normal(shape).astype(np.float32) if fused else None
    out, x_after = gpu.rms_norm(x, w, 1e-5, add)
    expected_x = x + add if fused else x
    assert np.array_equal(x_after, expected_x)
    assert nmse(out, _core_testing.rms_norm(expected_x, w, 1e-5)) < 1e-12


@pytest.mark.parametrize("mode", [0, 2])
@pytest.mark.parametrize("n_rot,head_dim", [(64, 64), (32, 64), (128, 128)])
@pytest.mark.parametrize("freq_factors", [False, True])
def test_rope(mode, n_rot, head_dim, freq_factors):
    rng = np.random.default_rng(n_rot + mode)
    x = rng.standard_normal((5, 3, head_dim)).astype(np.float32)
    pos = np.array([0, 1, 17, 1000, 32000], np.int32)
    ff = (1.0 + rng.random(n_rot // 2) * 4).astype(np.float32) if freq_factors else None
    got = gpu.rope(x, pos, n_rot, 10000.0, 0.5, mode, ff)
    ref = _core_testing.rope(x, pos, n_rot, 10000.0, 0.5, mode, ff)
    assert np.array_equal(got[..., n_rot:], x[..., n_rot:])  # dims past n_rot pass through
    assert nmse(got, ref) < 1e-9


@pytest.mark.parametrize("act", [0, 1])
def test_gated_activation(act):
    rng = np.random.default_rng(act)
    gate = (rng.standard_normal(10007) * 4).astype(np.float32)
    up = rng.standard_normal(10007).astype(np.float32)
    # against the scalar reference (libm): the CPU's AVX2 path uses its own vector exp
    assert nmse(gpu.gated_activation(act, gate, up), _core_testing.gated_activation(act, gate, up, reference=True)) < 1e-12


def test_softcap():
    x = (np.random.default_rng(1).standard_normal(3001) * 50).astype(np.float32)
    assert nmse(gpu.softcap(x, 30.0), _core_testing.softcap(x, 30.0)) < 1e-12


def kv_layout(rng, n_cells, n_seq):
    """A cache with empty cells, two sequences and a shared prefix."""
    cell_pos = np.full(n_cells, -1, np.int32)
    cell_seqs = np.zeros(n_cells, np.uint64)
    used = rng.permutation(n_cells)[: n_cells * 3 // 4]
    cell_pos[used] = rng.integers(0, n_cells, used.size)
    cell_seqs[used] = rng.integers(1, 2 ** n_seq, used.size).astype(np.uint64)
    return cell_pos, cell_seqs


ATTENTION_CASES = {
    # name: (n_tokens, n_head, n_head_kv, head_dim, n_cells, kv dtype, window, softcap)
    "decode f16 gqa": (1, 8, 2, 64, 1000, np.float16, 0, 0.0),
    "decode f32 mha": (1, 4, 4, 128, 300, np.float32, 0, 0.0),
    "decode 256 softcap": (1, 4, 1, 256, 700, np.float16, 0, 50.0),
    "sliding window": (3, 4, 2, 64, 900, np.float16, 64, 0.0),
    "batch of tokens": (9, 6, 3, 128, 513, np.float16, 0, 0.0),
    "long cache splits": (2, 2, 1, 64, 20000, np.float16, 0, 0.0),
    "tiny cache": (1, 2, 1, 64, 3, np.float32, 0, 0.0),
}


@pytest.mark.parametrize("case", list(ATTENTION_CASES))
def test_attention(case):
    n_tokens, n_head, n_head_kv, d, n_cells, dtype, window, cap = ATTENTION_CASES[case]
    rng = np.random.default_rng(n_cells)
    cell_pos, cell_seqs = kv_layout(rng, n_cells, 2)
    positions = rng.integers(n_cells // 2, n_cells, n_tokens).astype(np.int32)
    seq_ids = rng.integers(0, 2, n_tokens).astype(np.int32)
    q = rng.standard_normal((n_tokens, n_head, d)).astype(np.float32)
    k = rng.standard_normal((n_cells, n_head_kv * d)).astype(dtype)
    v = rng.standard_normal((n_cells, n_head_kv * d)).astype(dtype)
    scale = 1.0 / np.sqrt(d)
    got = gpu.attention(q, k, v, cell_pos, cell_seqs, positions, seq_ids, n_head_kv, scale, cap, window)
    vis = visible_cells(cell_pos, cell_seqs, positions, seq_ids, window)
    assert all(len(c) > 0 for c in vis)
    ref = _core_testing.attention(q, k, v, vis, n_head_kv, scale, cap)
    assert nmse(got, ref) < 1e-10


def test_attention_token_that_sees_nothing_gets_zeros():
    q = np.ones((1, 2, 64), np.float32)
    k = np.ones((4, 64), np.float16)
    cell_pos = np.full(4, -1, np.int32)
    out = gpu.attention(q, k, k, cell_pos, np.zeros(4, np.uint64), np.array([3], np.int32),
                        np.array([0], np.int32), 1, 0.125)
    assert np.array_equal(out, np.zeros_like(q))


MOE_RNG = np.random.default_rng(0)
MOE_CASES = {
    "softmax k=2": (MOE_RNG.standard_normal((13, 8)), 2, {}),
    "softmax norm 64 experts": (MOE_RNG.standard_normal((5, 64)), 8, {"norm_weights": True}),
    "sigmoid bias norm scale": (MOE_RNG.standard_normal((7, 128)), 8,
                                {"func": 2, "bias": MOE_RNG.standard_normal(128), "norm_weights": True,
                                 "scale": 2.5}),
    "groups": (MOE_RNG.standard_normal((9, 256)), 8, {"func": 2, "n_group": 8, "topk_group": 4}),
    "ties": (np.zeros((3, 16)), 4, {}),
    "k=n_expert": (MOE_RNG.standard_normal((4, 8)), 8, {"norm_weights": True}),
}


@pytest.mark.parametrize("case", list(MOE_CASES))
def test_moe_gating(case):
    logits, k, kw = MOE_CASES[case]
    kw = dict(kw)
    if "bias" in kw:
        kw["bias"] = kw["bias"].astype(np.float32)
    logits = logits.astype(np.float32)
    ids, w = gpu.moe_gating(logits, k, **kw)
    ref_ids, ref_w = _core_testing.moe_gating(logits, k, **kw)
    assert np.array_equal(ids, ref_ids)
    assert nmse(w, ref_w) < 1e-12
