#!/usr/bin/env python3
"""Quantized KV cache figures: logits against llama.cpp, perplexity, decode speed at a long context.

    python tools/bench_kv.py parity                 # both real models, f16 / q8_0 / q4_0 caches
    python tools/bench_kv.py perplexity --tokens 4000
    python tools/bench_kv.py decode --ctx 4096 --decode 32 --threads 2
    python tools/bench_kv.py all

parity: teacher-forced logits of the prompts in tests/data/reference_<model>.json (llama.cpp,
f16 cache, batch 512), as tools/parity_report.py measures them: the top-20 logit error as a
fraction of each row's logit range (mean, p95, max) and the argmax agreement (all positions, and
where llama.cpp's top-2 margin exceeds 0.5). Rows: llmrt with each cache type; then, with
llama-cpp-python installed (LLAMA_CPP_LIB_PATH pointing at its libllama if needed), llama.cpp
itself at batch 1 (its own noise floor), with q8_0 / q4_0 caches (flash attention, which
quantized V needs), and llmrt's q8_0 against llama.cpp's q8_0.
perplexity: the first --tokens tokens of tests/data/gpl-3.0.txt, scored 512 at a time; with
--vs-llama-cpp also llama.cpp's perplexity of the same ids with the same cache types.
decode: --ctx cells filled with fixed pseudo-random tokens, then --decode single-token steps;
best of --repeat rounds, the cache types taking turns so drifting load hits each alike.
Each run prints the CPU, the threads, the date and the load average first. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tools"))

MODELS = ("smollm2-135m", "gemma3-270m")
TYPES = ("f16", "q8_0", "q4_0")
MARGIN = 0.5
TEXT = ROOT / "tests" / "data" / "gpl-3.0.txt"


def header(threads: int) -> None:
    from llmrt import _core

    cpu = platform.processor() or "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {cpu}, {os.cpu_count()} CPUs, {threads} threads, SIMD {_core.simd_level()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load {load}", flush=True)


# ---- parity ---------------------------------------------------------------------------------

def summaries(rows: np.ndarray) -> list[dict]:
    from make_reference import row_summary

    return [row_summary(r) for r in rows]


def errors(runs: list[np.ndarray], refs: list[list[dict]]) -> dict:
    """Top-20 errors of logit rows against reference summaries, prompt by prompt."""
    errs, agree, confident = [], [], []
    for logits, positions in zip(runs, refs):
        for row, pos in zip(logits, positions):
            ours = row[pos["top_ids"]]
            errs.append(np.max(np.abs(ours - np.array(pos["top_logits"]))) / (pos["max"] - pos["min"]))
            same = int(np.argmax(row)) == pos["top_ids"][0]
            agree.append(same)
            if pos["margin"] > MARGIN:
                confident.append(same)
    e = np.array(errs)
    return dict(n=e.size, mean=e.mean(), p95=np.percentile(e, 95), max=e.max(),
                argmax=np.mean(agree), confident=np.mean(confident), n_confident=len(confident))


def show(label: str, r: dict) -> None:
    print(f"  {label:<34} mean {r['mean']:.4f}  p95 {r['p95']:.4f}  max {r['max']:.4f}  "
          f"argmax {100 * r['argmax']:5.1f}%  (margin > {MARGIN}: {100 * r['confident']:5.1f}% "
          f"of {r['n_confident']})", flush=True)


def llama_cpp_runs(path: Path, prompts: list[dict], threads: int, n_batch: int, cache: str) -> list[np.ndarray]:
    import llama_cpp

    codes = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=1024, n_batch=n_batch, n_ubatch=n_batch, logits_all=True,
                          n_threads=threads, verbose=False, seed=0, flash_attn=cache != "f16",
                          type_k=codes[cache], type_v=codes[cache])
    out = []
    for p in prompts:
        llm.reset()
        llm.eval(p["tokens"])
        out.append(np.array(llm.scores[: len(p["tokens"])], dtype=np.float32))
    return out


def parity(args) -> None:
    import llmrt

    for alias in args.models:
        ref = json.loads((ROOT / "tests" / "data" / f"reference_{alias}.json").read_text())
        prompts = ref["prompts"]
        fixture = [p["positions"] for p in prompts]
        print(f"{alias}: {sum(len(p['tokens']) for p in prompts)} positions over {len(prompts)} prompts, "
              f"against llama.cpp (f16 cache, batch 512; {ref['producer']})")
        ours = {}
        for t in args.types:
            llm = llmrt.LLM(alias, n_ctx=1024, n_threads=args.threads, kv_type=t)
            ours[t] = [llm.logits(p["tokens"]) for p in prompts]
            show(f"llmrt {t}", errors(ours[t], fixture))
        try:
            import llama_cpp  # noqa: F401
        except ImportError as e:
            print(f"  (llama.cpp rows skipped: {e})")
            continue
        path = llmrt.models.resolve(alias)
        show("llama.cpp f16, batch 1", errors(llama_cpp_runs(path, prompts, args.threads, 1, "f16"), fixture))
        for t in args.types:
            if t == "f16":
                continue
            theirs = llama_cpp_runs(path, prompts, args.threads, 512, t)
            show(f"llama.cpp {t}", errors(theirs, fixture))
            show(f"llmrt {t} vs llama.cpp {t}", errors(ours[t], [summaries(r) for r in theirs]))


# ---- perplexity -----------------------------------------------------------------------------

def llama_cpp_perplexity(path: Path, ids: list[int], threads: int, cache: str) -> float:
    import llama_cpp
    from llmrt.convert.perplexity import next_token_nll

    codes = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=len(ids) + 8, n_batch=512, logits_all=True, n_threads=threads,
                          verbose=False, seed=0, flash_attn=cache != "f16", type_k=codes[cache], type_v=codes[cache])
    llm.eval(ids)
    nll = [next_token_nll(llm.scores[b:min(b + 512, len(ids) - 1)], ids[b + 1:b + 513])
           for b in range(0, len(ids) - 1, 512)]
    return float(np.exp(np.concatenate(nll).mean()))


def perplexities(args) -> None:
    import llmrt
    from llmrt.convert.perplexity import perplexity

    text = TEXT.read_text()
    for alias in args.models:
        base, base_cpp = None, None
        for t in args.types:
            llm = llmrt.LLM(alias, n_ctx=args.tokens + 8, n_threads=args.threads, kv_type=t)
            ids = llm.tokenize(text)[: args.tokens]
            start = time.perf_counter()
            ppl = perplexity(llm, ids, chunk=512)
            base = ppl if base is None else base
            line = (f"{alias} {t:<5} {len(ids)} tokens of {TEXT.name}: perplexity {ppl:.4f} "
                    f"({100 * (ppl / base - 1):+.2f}% vs {args.types[0]}")
            del llm
            if args.vs_llama_cpp:
                cpp = llama_cpp_perplexity(llmrt.models.resolve(alias), ids, args.threads, t)
                base_cpp = cpp if base_cpp is None else base_cpp
                line += f"); llama.cpp {cpp:.4f} ({100 * (cpp / base_cpp - 1):+.2f}%"
            print(line + f"; {time.perf_counter() - start:.0f} s)", flush=True)


# ---- decode speed ---------------------------------------------------------------------------

def decode(args) -> None:
    import llmrt
    from llmrt.bench import bench_tokens

    for alias in args.models:
        llms, tokens = {}, None
        for t in args.types:
            llm = llmrt.LLM(alias, n_ctx=args.ctx + args.decode + 8, n_threads=args.threads, kv_type=t)
            tokens = bench_tokens(llm.n_vocab, args.ctx) if tokens is None else tokens
            start = time.perf_counter()
            llm.eval_prefix(tokens)
            print(f"{alias} {t:<5} prefill {args.ctx} tokens: {args.ctx / (time.perf_counter() - start):.1f} tok/s, "
                  f"KV {llm.kv_bytes_per_token * llm.n_cells / 2**20:.1f} MiB", flush=True)
            llms[t] = llm
        best = {t: float("inf") for t in args.types}
        for _ in range(args.repeat):
            for t, llm in llms.items():
                llm.eval_prefix(tokens)  # back to exactly ctx cells (recomputes the last token)
                start = time.perf_counter()
                for i in range(args.decode):
                    llm.eval_next(tokens[i])
                best[t] = min(best[t], time.perf_counter() - start)
        for t in args.types:
            print(f"{alias} {t:<5} decode {args.decode} tokens after {args.ctx}: {args.decode / best[t]:.2f} tok/s "
                  f"({best[t] / args.decode * 1e3:.2f} ms/token, {best[args.types[0]] / best[t]:.3f}x "
                  f"{args.types[0]})", flush=True)
        del llms


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["parity", "perplexity", "decode", "all"])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated aliases")
    p.add_argument("--types", default=",".join(TYPES), help="cache types; the first is the baseline")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=4000, help="perplexity: tokens of the text")
    p.add_argument("--vs-llama-cpp", action="store_true", help="perplexity: llama.cpp's too (llama-cpp-python)")
    p.add_argument("--ctx", type=int, default=4096, help="decode: cells filled before timing")
    p.add_argument("--decode", type=int, default=32, help="decode: steps timed")
    p.add_argument("--repeat", type=int, default=3, help="decode: rounds (best counts)")
    args = p.parse_args()
    args.models, args.types = args.models.split(","), args.types.split(",")
    header(args.threads)
    for what, fn in (("parity", parity), ("perplexity", perplexities), ("decode", decode)):
        if args.what in (what, "all"):
            fn(args)


if __name__ == "__main__":
    main()
