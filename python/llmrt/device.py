"""Which device a model runs on (policy; the native core only reports what exists).

    resolve_device("auto")  -> "cpu" or "cuda"
    resolve_device("cuda")  -> "cuda", or DeviceError saying why not

The CUDA kernels exist (cuda/, each checked against its CPU op by tests/test_cuda_ops.py on a
GPU), but the forward pass does not run on them yet, so "auto" resolves to "cpu" and "cuda"
raises DeviceError even where a GPU is present.
"""

from __future__ import annotations

from . import _core
from .errors import DeviceError

DEVICES = ("auto", "cpu", "cuda")

# Becomes True when the native Context can run the decoder on the GPU.
CUDA_FORWARD_PASS = False


def cuda_device_count() -> int:
    """Usable CUDA devices: 0 without a CUDA build, a driver or a GPU. Never raises."""
    return int(_core.cuda_device_count())


def cuda_unavailable_reason() -> str | None:
    """Why a model cannot run on CUDA here, or None when it can."""
    if not _core.cuda_available:
        return "llmrt was built without CUDA (build with nvcc on PATH, or -DLLMRT_CUDA=ON)"
    if cuda_device_count() == 0:
        return "no CUDA device: no NVIDIA GPU or driver was found"
    if not CUDA_FORWARD_PASS:
        return ("the CUDA forward pass is not implemented yet: this build has the CUDA kernels "
                "but runs models on the CPU only")
    return None


def resolve_device(device: str = "auto", n_gpu_layers: int | None = None) -> str:
    """Check the device and n_gpu_layers arguments of LLM and return "cpu" or "cuda".

    n_gpu_layers: None (all layers on the GPU when the device is cuda), -1 (likewise) or a layer
    count >= 0; only meaningful with device "cuda" or "auto"."""
    if not isinstance(device, str) or device.lower() not in DEVICES:
        raise DeviceError(f"device must be one of {', '.join(map(repr, DEVICES))}, not {device!r}")
    device = device.lower()
    if n_gpu_layers is not None:
        if isinstance(n_gpu_layers, bool) or not isinstance(n_gpu_layers, int) or n_gpu_layers < -1:
            raise DeviceError(f"n_gpu_layers must be None, -1 (all) or a layer count >= 0, not {n_gpu_layers!r}")
        if device == "cpu" and n_gpu_layers != 0:
            raise DeviceError(f"n_gpu_layers={n_gpu_layers} asks for GPU layers but device='cpu'")
    if device == "cpu":
        return "cpu"
    reason = cuda_unavailable_reason()
    if device == "cuda":
        if reason:
            raise DeviceError(f"device='cuda' is not available: {reason}")
        return "cuda"
    return "cpu" if reason or n_gpu_layers == 0 else "cuda"
