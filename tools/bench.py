#!/usr/bin/env python3
"""Prefill and decode speed of llmrt, optionally side by side with llama.cpp in the same run.

    python tools/bench.py smollm2-135m --threads 2
    python tools/bench.py smollm2-135m --threads 2 --vs-llama-cpp     # needs llama-cpp-python

Prefill: one forward pass over a --prompt-tokens prompt (logits of the last token only).
Decode: --decode-tokens single-token steps appended after that prompt (so attention runs at
~512 context). Each figure is the best of --repeat runs; tokens are fixed pseudo-random ids so
both runtimes do identical work. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        best = min(best, fn())
    return best


def bench_llmrt(path, tokens, n_decode, threads, repeat):
    import llmrt

    llm = llmrt.LLM(str(path), n_ctx=len(tokens) + n_decode + 8, n_threads=threads)

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


def bench_llama_cpp(path, tokens, n_decode, threads, repeat):
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=len(tokens) + n_decode + 8, n_batch=512,
                          n_threads=threads, n_threads_batch=threads, verbose=False)

    def prefill():
        llm.reset()
        t = time.perf_counter()
        llm.eval(tokens)
        return time.perf_counter() - t

    def decode():
        llm.reset()
        llm.eval(tokens)
        t = time.perf_counter()
        for i in range(n_decode):
            llm.eval([tokens[i % len(tokens)]])
        return time.perf_counter() - t

    llm.eval(tokens[:8])
    return best_of(repeat, prefill), best_of(repeat, decode)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="path or alias (smollm2-135m, gemma3-270m)")
    ap.add_argument("--threads", "-t", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--decode-tokens", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vs-llama-cpp", action="store_true", help="also run llama.cpp (llama-cpp-python)")
    args = ap.parse_args()

    from llmrt import GGUFFile, _core, models

    path = models.resolve(args.model)
    n_vocab = len(GGUFFile(path).metadata["tokenizer.ggml.tokens"])
    rng = np.random.default_rng(0)
    tokens = rng.integers(100, n_vocab - 100, size=args.prompt_tokens).tolist()
    P, D = args.prompt_tokens, args.decode_tokens

    rows = []
    pre, dec = bench_llmrt(path, tokens, D, args.threads, args.repeat)
    rows.append(("llmrt", P / pre, D / dec))
    if args.vs_llama_cpp:
        pre, dec = bench_llama_cpp(path, tokens, D, args.threads, args.repeat)
        rows.append(("llama.cpp", P / pre, D / dec))

    print(f"model {path.name}, {args.threads} threads, SIMD {_core.simd_level()}, "
          f"prefill {P} tokens, decode {D} tokens after them, best of {args.repeat}")
    print(f"{'runtime':<10} {'prefill tok/s':>14} {'decode tok/s':>13}")
    for name, p, d in rows:
        print(f"{name:<10} {p:>14.1f} {d:>13.1f}")
    if len(rows) == 2:
        print(f"{'ratio':<10} {rows[0][1] / rows[1][1]:>13.2f}x {rows[0][2] / rows[1][2]:>12.2f}x"
              "   (llmrt / llama.cpp)")


if __name__ == "__main__":
    main()
