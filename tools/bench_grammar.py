"""Per-token grammar cost: mask computation along the tokenization of real JSON documents.

    PYTHONPATH=python python3 tools/bench_grammar.py [--model PATH ...]

For each model tokenizer and grammar (generic JSON, a JSON schema) it feeds the tokens of a set
of JSON documents through a matcher, timing allowed_mask() + accept() per token. "cold" is the
first pass (transition table and mask cache empty: a new grammar's first request); "warm" is a
second pass over the same documents with a fresh matcher (a server reusing the grammar).
"first-use ms" is the mean (and max) time of the mask calls that met a grammar state for the first
time: what a new nesting depth costs.
"""

import argparse
import json
import os
import time

import numpy as np

import llmrt
from llmrt.grammar import Grammar
from llmrt.tokenizer import Tokenizer

CACHE = os.path.expanduser("~/.cache/llmrt/models")
MODELS = [os.path.join(CACHE, "SmolLM2-135M-Instruct.Q4_1.gguf"),
          os.path.join(CACHE, "gemma-3-270m-q4_k_m.gguf")]

SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "email": {"type": "string", "pattern": "^[a-z.]+@[a-z]+\\.[a-z]{2,3}$"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
    "address": {"type": "object", "properties": {"city": {"type": "string"},
                                                 "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["city"]}},
    "required": ["name", "age"]}


def documents():
    people = [{"name": n, "age": a, "email": f"{n.lower()}@mail.com", "tags": t,
               "address": {"city": c, "zip": z}}
              for n, a, t, c, z in [("Alice", 31, ["x", "admin"], "Paris", "75001"),
                                    ("Bob", 7, [], "Zoë's town", "01234"),
                                    ("Carol", 150, ["a b", "c", "d"], "New York", "10001")]]
    docs = [json.dumps(p) for p in people] + [json.dumps(p, indent=2) for p in people]
    nested = {"name": "deep", "age": 1, "tags": ["t"]}
    for i in range(6):      # every level a new nesting depth (generic JSON grammar only)
        nested = {"level": i, "items": [nested, {"k": [i, "v"]}]}
    return docs, [json.dumps(nested)]


def run(tok, grammar, docs):
    """ms per token (mask + accept), and ms of the mask calls that met a state first."""
    times, first_use = [], []
    for doc in docs:
        m = grammar.matcher(tok)
        cache = m._cache
        for t in tok.tokenize(doc, add_special=False):
            misses = cache.misses
            t0 = time.perf_counter()
            mask = m.allowed_mask()
            dt = time.perf_counter() - t0
            if not mask[t]:
                raise SystemExit(f"grammar rejects token {tok.token_to_piece(t)!r} of {doc!r}")
            m.accept(t)
            times.append(time.perf_counter() - t0)
            if cache.misses != misses:
                first_use.append(dt)
    return np.array(times) * 1e3, np.array(first_use or [0.0]) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append")
    args = ap.parse_args()
    docs, deep = documents()
    print(f"{'model':34} {'grammar':8} {'tokens':>6} {'cold ms/tok':>11} {'warm ms/tok':>11} "
          f"{'warm p99':>8} {'new states':>10} {'first-use ms':>12} {'max':>6} {'index s':>7}")
    for path in args.model or MODELS:
        tok = Tokenizer.from_metadata(llmrt.GGUFFile(path).metadata)
        for gname, make, gdocs in [("json", Grammar.json, docs + deep),
                                   ("schema", lambda: Grammar.from_json_schema(SCHEMA), docs)]:
            g = make()
            t0 = time.perf_counter()
            g.matcher(tok)
            index_s = time.perf_counter() - t0
            cold, first = run(tok, g, gdocs)
            warm, _ = run(tok, g, gdocs)
            print(f"{os.path.basename(path):34} {gname:8} {len(cold):6d} {cold.mean():11.3f} "
                  f"{warm.mean():11.3f} {np.percentile(warm, 99):8.3f} {len(first):10d} "
                  f"{first.mean():12.2f} {first.max():6.1f} {index_s:7.2f}")


if __name__ == "__main__":
    main()
