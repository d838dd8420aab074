#!/usr/bin/env python3
"""Record llama.cpp reference fixtures for the correctness tests (dev-only tool).

Runs llama.cpp through llama-cpp-python (the `dev` extra; never a runtime dependency) on the
models the package index ships, and writes tests/data/reference_<alias>.json with, per prompt:
  - the token ids llama.cpp produced for the prompt,
  - per position: the top-20 logits (ids and values), the top-2 margin, and the min/max of
    the full logit row (so tests can express tolerances relative to the logit range),
  - a greedy continuation of N tokens with the top-2 margin at each step.

    python tools/make_reference.py                 # both models
    python tools/make_reference.py smollm2-135m -n 64
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))  # llmrt.models only (pure Python): fetch the models

PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "<|im_start|>user\nWhat is 12 times 7?<|im_end|>\n<|im_start|>assistant\n",
    "Photosynthesis is the process by which green plants and some other organisms use sunlight to "
    "synthesize foods from carbon dioxide and water. Photosynthesis in plants generally involves "
    "the green pigment chlorophyll and generates oxygen as a byproduct. In this essay we will "
    "explain, step by step, how the light-dependent reactions and the Calvin cycle work together",
]
TOP = 20


def row_summary(row: np.ndarray) -> dict:
    top = np.argsort(-row, kind="stable")[:TOP]
    return {
        "top_ids": top.tolist(),
        "top_logits": [round(float(row[i]), 5) for i in top],
        "margin": float(row[top[0]] - row[top[1]]),
        "min": float(row.min()),
        "max": float(row.max()),
    }


def record(alias: str, n_greedy: int) -> dict:
    import llama_cpp
    from llmrt import models

    path = models.resolve(alias)
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=1024, n_batch=512, logits_all=True,
                          n_threads=2, verbose=False, seed=0)
    entries = []
    for prompt in PROMPTS:
        tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
        llm.reset()
        llm.eval(tokens)
        scores = np.array(llm.scores[: len(tokens)], dtype=np.float32)
        positions = [row_summary(scores[i]) for i in range(len(tokens))]
        greedy, margins = [], []
        last = scores[-1]
        for _ in range(n_greedy):
            summary = row_summary(last)
            tok = summary["top_ids"][0]
            greedy.append(tok)
            margins.append(summary["margin"])
            llm.eval([tok])
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        entries.append({"prompt": prompt, "tokens": tokens, "positions": positions,
                        "greedy": greedy, "greedy_margins": margins})
        print(f"{alias}: {len(tokens)} prompt tokens, greedy {llm.detokenize(greedy)[:60]!r}",
              file=sys.stderr)
    return {
        "model": alias,
        "file": path.name,
        "producer": f"llama.cpp via llama-cpp-python {llama_cpp.__version__}",
        "top": TOP,
        "prompts": entries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("aliases", nargs="*", default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("-n", "--greedy", type=int, default=64, help="greedy continuation length")
    args = parser.parse_args()
    for alias in args.aliases:
        data = record(alias, args.greedy)
        out = ROOT / "tests" / "data" / f"reference_{alias}.json"
        out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        print(f"wrote {out} ({out.stat().st_size // 1024} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
