"""Device selection and the CUDA entry points that exist in every build (no GPU needed), the
CPU single-op bindings the CUDA kernels are compared with (against NumPy), and the mmvq block
arithmetic run on the host (CUDA builds)."""

import numpy as np
import pytest

import llmrt
from llmrt import _core, _core_testing
from llmrt.device import cuda_unavailable_reason, resolve_device

HAS_GPU = _core.cuda_device_count() > 0


def nmse(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(((got - ref) ** 2).sum() / (ref ** 2).sum())


# ---- availability --------------------------------------------------------------------------

def test_device_count_never_raises():
    n = _core.cuda_device_count()
    assert isinstance(n, int) and n >= 0
    assert isinstance(_core.cuda_available, bool)
    if not _core.cuda_available:
        assert n == 0


@pytest.mark.skipif(HAS_GPU, reason="a CUDA device is present")
@pytest.mark.parametrize("name", ["cuda_quantize_act", "cuda_matmul", "cuda_rms_norm", "cuda_rope",
                                  "cuda_gated_activation", "cuda_softcap", "cuda_attention", "cuda_moe_gating"])
def test_cuda_ops_raise_device_error_without_a_gpu(name):
    x = np.zeros((1, 32), np.float32)
    args = {"cuda_quantize_act": (x[0],), "cuda_matmul": (0, np.zeros(128, np.uint8), 32, x),
            "cuda_rms_norm": (x, x[0], 1e-6), "cuda_rope": (x.reshape(1, 1, 32), np.zeros(1, np.int32), 32),
            "cuda_gated_activation": (0, x, x), "cuda_softcap": (x, 1.0),
            "cuda_attention": (x.reshape(1, 1, 32), x, x, np.zeros(1, np.int32), np.ones(1, np.uint64),
                               np.zeros(1, np.int32), np.zeros(1, np.int32), 1, 1.0),
            "cuda_moe_gating": (x, 2)}[name]
    with pytest.raises(llmrt.DeviceError, match="without CUDA|no CUDA device"):
        getattr(_core_testing, name)(*args)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("cpu", 0) == "cpu"
    assert resolve_device("auto") == ("cpu" if cuda_unavailable_reason() else "cuda")
    assert resolve_device("auto", 0) == "cpu"
    for bad in ("gpu", "", None, 0):
        with pytest.raises(llmrt.DeviceError, match="device must be one of"):
            resolve_device(bad)
    for bad in (-2, 1.5, True, "3"):
        with pytest.raises(llmrt.DeviceError, match="n_gpu_layers"):
            resolve_device("auto", bad)
    with pytest.raises(llmrt.DeviceError, match="device='cpu'"):
        resolve_device("cpu", 4)


@pytest.mark.skipif(cuda_unavailable_reason() is None, reason="models can run on CUDA here")
def test_cuda_unavailable_raises_typed_error(tmp_path):
    with pytest.raises(llmrt.DeviceError, match="device='cuda' is not available"):
        resolve_device("cuda", 10)
    # LLM checks the device before it looks for the model
    with pytest.raises(llmrt.DeviceError):
        llmrt.LLM(tmp_path / "missing.gguf", device="cuda")
    with pytest.raises(llmrt.DeviceError):
        llmrt.LLM(tmp_path / "missing.gguf", device="tpu")


def test_llm_auto_runs_on_cpu(smollm2_path):
    llm = llmrt.LLM(smollm2_path, n_ctx=32, device="auto")
    assert llm.device == "cpu" and llm.n_gpu_layers == 0
    assert llm.logits([1, 2, 3]).shape == (3, llm.n_vocab)


# ---- mmvq block arithmetic on the host ----------------------------------------------------

MMVQ_TYPES = {"Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q8_0": 8, "Q4_K": 12, "Q6_K": 14}
# vs the CPU matmul: the 32-element formats see the same activations (only summation order
# differs); the K-quants use 32-value activation blocks where the CPU uses 256-value ones.
MMVQ_NMSE = {"Q4_0": 1e-10, "Q4_1": 1e-10, "Q5_0": 1e-10, "Q8_0": 1e-10, "Q4_K": 3e-4, "Q6_K": 3e-4}


@pytest.mark.skipif(not _core.cuda_available, reason="llmrt was built without CUDA")
@pytest.mark.parametrize("name", list(MMVQ_TYPES))
@pytest.mark.parametrize("n_tokens", [1, 5])
def test_mmvq_block_arithmetic_on_host(name, n_tokens):
    t = MMVQ_TYPES[name]
    rng = np.random.default_rng(t + n_tokens)
    n_in, n_out = 1024, 9
    w = np.concatenate([_core.quantize(t, r) for r in rng.standard_normal((n_out, n_in)).astype(np.float32)])
    x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
    got = _core_testing.cuda_mmvq_host(t, w, n_in, x)
    cpu = _core_testing.matmul(t, w, n_in, x)
    exact = x.astype(np.float64) @ _core.dequantize(t, w, n_in * n_out).reshape(n_out, n_in).T.astype(np.float64)
    assert nmse(got, cpu) < MMVQ_NMSE[name]
    # no worse than the CPU's own activation rounding
    assert nmse(got, exact) < 2 * nmse(cpu, exact) + 1e-9


# ---- CPU single ops against NumPy ---------------------------------------------------------

def np_rope(x, pos, n_rot, base, scale, mode, ff=None):
    x = x.astype(np.float64).copy()
    half = n_rot // 2
    theta = pos[:, None] * scale * base ** (-2.0 * np.arange(half) / n_rot)
    if ff is not None:
        theta = theta / ff
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    a = np.arange(half) if mode == 2 else 2 * np.arange(half)
    b = a + half if mode == 2 else a + 1
    x0, x1 = x[..., a].copy(), x[..., b].copy()
    x[..., a], x[..., b] = x0 * c - x1 * s, x0 * s + x1 * c
    return x


@pytest.mark.parametrize("mode", [0, 2])
def test_cpu_rope(mode):
    rng = np.random.default_rng(mode)
    x = rng.standard_normal((4, 3, 64)).astype(np.float32)
    pos = np.array([0, 1, 50, 300], np.int32)
    ff = (1 + rng.random(24)).astype(np.float32)
    assert nmse(_core_testing.rope(x, pos, 48, 10000.0, 1.0, mode, ff), np_rope(x, pos, 48, 10000.0, 1.0, mode, ff)) < 1e-10


def test_cpu_rms_norm_softcap():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 100)).astype(np.float32)
    w = rng.standard_normal(100).astype(np.float32)
    ref = x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-6) * w
    assert nmse(_core_testing.rms_norm(x, w, 1e-6), ref) < 1e-12
    assert nmse(_core_testing.softcap(x * 40, 30.0), 30 * np.tanh(x * 40 / 30.0)) < 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_cpu_attention(dtype):
    rng = np.random.default_rng(4)
    n_tok, n_head, n_kv, d, n_cells = 3, 4, 2, 64, 50
    q = rng.standard_normal((n_tok, n_head, d)).astype(np.float32)
    k = rng.standard_normal((n_cells, n_kv * d)).astype(dtype)
    v = rng.standard_normal((n_cells, n_kv * d)).astype(dtype)
    vis = [np.sort(rng.choice(n_cells, m, replace=False)).astype(np.int32) for m in (1, 20, 50)]
    got = _core_testing.attention(q, k, v, vis, n_kv, 0.125, 0.0, n_threads=2)
    kf, vf = k.astype(np.float64).reshape(n_cells, n_kv, d), v.astype(np.float64).reshape(n_cells, n_kv, d)
    for t in range(n_tok):
        for h in range(n_head):
            s = kf[vis[t], h // 2] @ q[t, h] * 0.125
            p = np.exp(s - s.max())
            assert nmse(got[t, h], p @ vf[vis[t], h // 2] / p.sum()) < 1e-10
