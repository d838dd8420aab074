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
    python tools/make_reference.py gemma3-270m --long -n 32   # reference_gemma3-270m-long.json

A file made on the fly (a converted or quantized GGUF) instead of an alias:

    llmrt quantize SmolLM2-135M-Instruct.Q4_1.gguf /tmp/q4km.gguf Q4_K_M
    python tools/make_reference.py --model-file /tmp/q4km.gguf --name smollm2-135m-q4_k_m \
        --recipe "llmrt quantize smollm2-135m Q4_K_M"

writes tests/data/reference_<name>.json with two more keys: "sha256" of the file (the test
that re-creates it checks llama.cpp ran on exactly those bytes) and "recipe" (how to rebuild it).

--long records one prompt of 1500+ tokens (LONG_PROMPT: past Gemma 3's 512-token sliding
window) and, to keep the file small, only every LONG_STRIDE-th position plus the last
LONG_TAIL; each position entry then carries its index ("index").
"""

from __future__ import annotations

import argparse
import hashlib
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
LONG_STRIDE = 16
LONG_TAIL = 64


def long_prompt() -> str:
    """A deterministic text of ~1700 Gemma tokens. The closing paragraph repeats the opening
    one word for word, so predicting it well needs attention reaching back 1000+ tokens,
    which only the global (non-sliding) layers have."""
    opening = ("The old lighthouse stood at the end of a long stone pier, and every evening the "
               "keeper climbed its hundred and twelve steps to light the lamp. He kept a ledger "
               "in which he wrote, in a careful hand, the weather, the ships that passed, and "
               "anything else that seemed worth remembering.")
    names = ["Aurora", "Bellwether", "Cormorant", "Dauntless", "Evening Star", "Fairwind",
             "Gannet", "Halcyon", "Islander", "Juniper", "Kestrel", "Lodestar"]
    weathers = ["clear and calm", "grey with a light drizzle", "windy from the north-west",
                "foggy until noon", "bright but cold", "stormy in the afternoon"]
    days = []
    for day in range(1, 41):
        ship = names[(day * 5) % len(names)]
        weather = weathers[(day * 7) % len(weathers)]
        count = (day * 13) % 9 + 2
        days.append(f"Day {day}. The weather was {weather}. {count} ships passed the point, the "
                    f"last of them the {ship}, which signalled twice and went on towards the harbour.")
    return (opening + "\n\n" + "\n".join(days) + "\n\nAt the end of the season the keeper "
            "copied the first page of his ledger onto the inside of the cover, so that it would "
            "not be lost. It read:\n\n" + opening)


def row_summary(row: np.ndarray) -> dict:
    top = np.argsort(-row, kind="stable")[:TOP]
    return {
        "top_ids": top.tolist(),
        "top_logits": [round(float(row[i]), 5) for i in top],
        "margin": float(row[top[0]] - row[top[1]]),
        "min": float(row.min()),
        "max": float(row.max()),
    }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def record(alias: str, n_greedy: int, long: bool = False, path: Path | None = None) -> dict:
    """Fixture of the model `alias` (fetched through llmrt.models), or of the file `path`
    recorded under the name `alias`."""
    import llama_cpp

    if path is None:
        from llmrt import models

        path = models.resolve(alias)
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048 if long else 1024, n_batch=512,
                          logits_all=True, n_threads=2, verbose=False, seed=0)
    entries = []
    for prompt in [long_prompt()] if long else PROMPTS:
        tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
        llm.reset()
        llm.eval(tokens)
        scores = np.array(llm.scores[: len(tokens)], dtype=np.float32)
        if long:
            keep = sorted(set(range(0, len(tokens), LONG_STRIDE)) | set(range(len(tokens) - LONG_TAIL, len(tokens))))
            positions = [{"index": i, **row_summary(scores[i])} for i in keep]
        else:
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
    parser.add_argument("aliases", nargs="*", help="default: smollm2-135m gemma3-270m")
    parser.add_argument("-n", "--greedy", type=int, default=64, help="greedy continuation length")
    parser.add_argument("--long", action="store_true", help="the long prompt, into reference_<alias>-long.json")
    parser.add_argument("--model-file", type=Path, help="a GGUF made on the fly instead of an alias (needs --name)")
    parser.add_argument("--name", help="fixture name for --model-file: tests/data/reference_<name>.json")
    parser.add_argument("--recipe", default="", help="for --model-file: how the file was made (stored as is)")
    args = parser.parse_args()
    if args.model_file:
        if not args.name or args.aliases:
            parser.error("--model-file takes --name and no aliases")
        data = record(args.name, args.greedy, args.long, path=args.model_file)
        data.update(sha256=file_sha256(args.model_file), recipe=args.recipe)
        write(data, args.name, args.long)
        return
    for alias in args.aliases or ["smollm2-135m", "gemma3-270m"]:
        write(record(alias, args.greedy, args.long), alias, args.long)


def write(data: dict, alias: str, long: bool) -> None:
    out = ROOT / "tests" / "data" / f"reference_{alias}{'-long' if long else ''}.json"
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
