#!/usr/bin/env python3
"""Prefill and decode speed of llmrt, optionally side by side with llama.cpp in the same run.

    python tools/bench.py smollm2-135m --threads 2
    python tools/bench.py smollm2-135m --threads 2 --vs-llama-cpp     # needs llama-cpp-python
    python tools/bench.py smollm2-135m --parallel 1,2,4,8,16          # batched decode

--parallel N[,N...]: N sequences with distinct --parallel-prompt-tokens prompts decode
--parallel-decode-tokens tokens each through the engine (one decode call per step carries
all of them, greedy sampling per sequence included); reports aggregate decode tokens/s and the
ratio to one sequence.

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
    from llmrt.bench import best_of as best

    return best(repeat, fn)


def bench_llmrt(path, tokens, n_decode, threads, repeat, deterministic=False):
    import llmrt
    from llmrt.bench import measure

    llm = llmrt.LLM(str(path), n_ctx=len(tokens) + n_decode + 8, n_threads=threads, deterministic=deterministic)
    return measure(llm, tokens, n_decode, repeat)


def param_counts(path) -> tuple[int, int]:
    """(total, active per token) weights of a GGUF: a MoE token reads expert_used_count of
    expert_count experts."""
    from llmrt import GGUFFile

    f = GGUFFile(path)
    md = f.metadata
    arch = md["general.architecture"]
    n_expert = int(md.get(f"{arch}.expert_count", 0) or 0)
    n_used = int(md.get(f"{arch}.expert_used_count", 0) or 0)
    total = active = 0
    for t in f.tensors:
        n = int(np.prod(t.shape))
        total += n
        active += n * n_used // n_expert if n_expert and "_exps." in t.name else n
    return total, active


def bench_parallel(path, n_vocab, ns, n_prompt, n_decode, threads, repeat):
    """Aggregate decode tokens/s of n concurrent sequences, for each n in ns."""
    import llmrt

    per_seq = n_prompt + n_decode + 8
    top = max(ns)
    llm = llmrt.LLM(str(path), n_ctx=per_seq, n_cells=top * per_seq, n_threads=threads,
                    n_parallel=top, n_seq_max=min(64, top + 1))
    rng = np.random.default_rng(1)
    prompts = [rng.integers(100, n_vocab - 100, size=n_prompt).tolist() for _ in range(top)]
    eng = llm.engine

    def run(n):
        llm.reset()
        reqs = [llm._request(prompts[i], n_decode, (), temperature=0, ignore_eos=True) for i in range(n)]
        for r in reqs:
            eng.submit(r)
        while not all(r.t_first is not None for r in reqs):  # prefill (not timed)
            eng.step()
        done0 = sum(len(r.generated) for r in reqs)
        t = time.perf_counter()
        while not all(r.done for r in reqs):
            eng.step()
        dt = time.perf_counter() - t
        return dt / (sum(len(r.generated) for r in reqs) - done0)

    llm.eval_prefix(prompts[0][:8])
    return [(n, 1.0 / best_of(repeat, lambda: run(n))) for n in ns]


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
    ap.add_argument("--parallel", type=str, default="",
                    help="comma-separated sequence counts, e.g. 1,2,4,8,16: batched decode throughput")
    ap.add_argument("--parallel-prompt-tokens", type=int, default=32)
    ap.add_argument("--parallel-decode-tokens", type=int, default=32)
    ap.add_argument("--grammar", default="", help="e.g. json: constrained vs free decode, grammar time vs llama.cpp")
    ap.add_argument("--sampling", action="store_true", help="time the default sampler chain (and llama.cpp's)")
    ap.add_argument("--speculative", default="", metavar="lookup|MODEL",
                    help="decode speed of an edit task with and without prompt lookup or a draft model")
    ap.add_argument("--n-draft", type=int, default=8)
    ap.add_argument("--deterministic", action="store_true", help="also run LLM(deterministic=True)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    from llmrt import GGUFFile, _core, models

    path = models.resolve(args.model)
    n_vocab = len(GGUFFile(path).metadata["tokenizer.ggml.tokens"])
    rng = np.random.default_rng(0)
    tokens = rng.integers(100, n_vocab - 100, size=args.prompt_tokens).tolist()
    P, D = args.prompt_tokens, args.decode_tokens

    if args.speculative:
        import bench_extras

        bench_extras.bench_speculative(path, args.threads, args.speculative, args.n_draft, args.decode_tokens,
                                       args.repeat)
        return

    if args.sampling or args.grammar:
        import bench_extras

        if args.sampling:
            bench_extras.bench_sampling(n_vocab)
        if args.grammar:
            import llmrt

            llm = llmrt.LLM(str(path), n_ctx=1024, n_threads=args.threads)
            bench_extras.bench_grammar(llm, path, args.grammar)
        return

    if args.parallel:
        ns = [int(x) for x in args.parallel.split(",") if x.strip()]
        if 1 not in ns:
            ns = [1] + ns
        res = bench_parallel(path, n_vocab, ns, args.parallel_prompt_tokens, args.parallel_decode_tokens,
                             args.threads, args.repeat)
        base = dict(res)[1]
        print(f"model {path.name}, {args.threads} threads, SIMD {_core.simd_level()}, "
              f"{args.parallel_prompt_tokens}-token prompts, {args.parallel_decode_tokens} decode "
              f"tokens per sequence, best of {args.repeat}")
        print(f"{'sequences':>9} {'decode tok/s':>13} {'vs 1':>7}")
        for n, tps in res:
            print(f"{n:>9} {tps:>13.1f} {tps / base:>6.2f}x")
        return

    rows = []
    pre, dec = bench_llmrt(path, tokens, D, args.threads, args.repeat)
    rows.append(("llmrt", P / pre, D / dec))
    if args.deterministic:
        pre, dec = bench_llmrt(path, tokens, D, args.threads, args.repeat, deterministic=True)
        rows.append(("llmrt det", P / pre, D / dec))
    if args.vs_llama_cpp:
        pre, dec = bench_llama_cpp(path, tokens, D, args.threads, args.repeat)
        rows.append(("llama.cpp", P / pre, D / dec))

    total, active = param_counts(path)
    print(f"model {path.name}, {args.threads} threads, SIMD {_core.simd_level()}, "
          f"prefill {P} tokens, decode {D} tokens after them, best of {args.repeat}")
    print(f"weights: {total / 1e6:.1f}M total" + (f", {active / 1e6:.1f}M active per token" if active != total else ""))
    print(f"{'runtime':<10} {'prefill tok/s':>14} {'decode tok/s':>13}")
    for name, p, d in rows:
        print(f"{name:<10} {p:>14.1f} {d:>13.1f}")
    if len(rows) == 2:
        print(f"{'ratio':<10} {rows[0][1] / rows[1][1]:>13.2f}x {rows[0][2] / rows[1][2]:>12.2f}x"
              f"   (llmrt / {rows[1][0]})")


if __name__ == "__main__":
    main()
