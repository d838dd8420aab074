"""Prefill and decode timing of one LLM, shared by `llmrt bench` and tools/bench.py (which adds
the llama.cpp side). Fixed pseudo-random token ids, so runs are comparable; best of `repeat`."""

from __future__ import annotations

import time

import numpy as np


def best_of(repeat: int, fn) -> float:
    return min(fn() for _ in range(max(1, repeat)))


def bench_tokens(n_vocab: int, n: int, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(100, n_vocab - 100, size=n).tolist()


def measure(llm, tokens: list[int], n_decode: int, repeat: int = 3) -> tuple[float, float]:
    """Seconds for prefilling `tokens` and for `n_decode` single-token steps after them."""

    def prefill():
        llm.reset()
        t = time.perf_counter()
        llm.eval_prefix(tokens)
        return time.perf_counter() - t

    def decode():
        llm.eval_prefix(tokens)
        t = time.perf_counter()
        for i in range(n_decode):
            llm.eval_next(tokens[i % len(tokens)])
        dt = time.perf_counter() - t
        llm.reset()
        return dt

    llm.eval_prefix(tokens[:8])  # warm-up: page in the weights
    return best_of(repeat, prefill), best_of(repeat, decode)
