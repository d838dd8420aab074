"""float32 row blocks -> the bytes of a ggml type: numpy casts for floats, the native quantizers
for the rest, split over threads by rows.

Two quantizer methods (see csrc/quant/refine.h): "ggml", the default, reproduces ggml's
reference quantizers bit for bit, i.e. llama-quantize's output; "refine" searches each block for
a lower squared error than ggml's finds (never a higher one). "refine" is opt-in: on SmolLM2
re-quantized to Q4_K_M it lowers the weights' error (Q5_0 -18%, Q4_K -34%) and the mean KL
divergence from the original by 3-4%, but perplexity moves either way by more than that
(README, "Quantizer methods")."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from gguf import GGMLQuantizationType as T

from .errors import ConvertError

_ROWS_PER_JOB_ELEMS = 1 << 18   # ~1 MiB of float32 per quantize call


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round to nearest even, NaNs kept quiet (as ggml and the gguf package do)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u.astype(np.uint64) + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    return np.where(nan, ((u >> 16) | 64).astype(np.uint16), r)


def bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


METHODS = ("ggml", "refine")


class Encoder:
    def __init__(self, threads: int | None = None, method: str = "ggml"):
        if method not in METHODS:
            raise ConvertError(f"unknown quantizer method {method!r} (one of {', '.join(METHODS)})")
        self.method = method
        self.threads = threads or default_threads()
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()

    def __call__(self, block: np.ndarray, ggml_type: int) -> np.ndarray:
        """block: float32 (rows, ncols) or 1-D -> bytes (uint8 array) of `ggml_type`."""
        t = T(ggml_type)
        if t == T.F32:
            return np.ascontiguousarray(block, dtype=np.float32).view(np.uint8).reshape(-1)
        if t == T.F16:
            return np.ascontiguousarray(block, dtype=np.float16).view(np.uint8).reshape(-1)
        if t == T.BF16:
            return f32_to_bf16(block).view(np.uint8).reshape(-1)
        return self._quantize(block, int(t))

    def _quantize(self, block: np.ndarray, t: int) -> np.ndarray:
        from .. import _core

        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block.reshape(1, -1)
        block = block.reshape(-1, block.shape[-1])
        rows, ncols = block.shape
        step = max(1, _ROWS_PER_JOB_ELEMS // ncols)
        chunks = [block[i:i + step].reshape(-1) for i in range(0, rows, step)]
        try:
            if self.pool is None or len(chunks) == 1:
                parts = [_core.quantize(t, c, self.method) for c in chunks]
            else:
                parts = list(self.pool.map(lambda c: _core.quantize(t, c, self.method), chunks))
        except ValueError as e:
            raise ConvertError(f"quantizing to {T(t).name}: {e}") from None
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def decode(raw: np.ndarray, ggml_type: int, n: int) -> np.ndarray:
    """Raw bytes (or typed view) of a ggml type -> float32 of n elements."""
    t = T(ggml_type)
    raw = np.ascontiguousarray(raw)
    if t == T.F32:
        return raw.view(np.float32).reshape(-1)[:n].copy()
    if t == T.F16:
        return raw.view(np.float16).reshape(-1)[:n].astype(np.float32)
    if t == T.BF16:
        return bf16_to_f32(raw.view(np.uint16).reshape(-1)[:n])
    from .. import _core

    try:
        return _core.dequantize(int(t), raw.view(np.uint8).reshape(-1), n)
    except ValueError as e:
        raise ConvertError(f"dequantizing {t.name}: {e}") from None
