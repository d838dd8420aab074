"""Grammar benchmarks.

    PYTHONPATH=python python3 tools/bench_grammar.py [--model PATH ...]
    PYTHONPATH=python python3 tools/bench_grammar.py --suite     # JSON Schema Test Suite
    PYTHONPATH=python python3 tools/bench_grammar.py --corpus    # real-world schemas
    PYTHONPATH=python python3 tools/bench_grammar.py --decode smollm2-135m

--suite compiles every draft 2020-12 group of the JSON Schema Test Suite (tests/data/
json_schema_suite/, groups with remote refs skipped) with llmrt and, when installed (the `dev`
extra), llguidance and XGrammar, and checks every instance (compact and default separators;
accepted if either is): compiled / unsupported groups, unsound (invalid instances accepted),
incomplete (valid instances rejected), median and worst compile ms (best of 3 per group). --corpus compiles the
schemas of tests/data/schema_corpus/ with each; with --generate MODEL it also samples one
document per compiled schema with llmrt (temperature 0.7, at most 300 tokens) and validates
the finished ones with the jsonschema package. --decode times greedy decoding of one model
unconstrained, under generic JSON and under HEAVY (30 properties: enums, patterns, bounded
numbers, nested arrays), each grammar twice (first: masks computed as met; then cached).

Default mode: per-token mask cost along the tokenization of real JSON documents.
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


_ENUMS = {f"e{i}": {"enum": [f"v{i}{j}" for j in range(6)]} for i in range(10)}
_PATTERNS = {"id": "^[A-Z]{3}-[0-9]{4}$", "zip": "^[0-9]{5}$", "phone": "^\\+[0-9]{6,12}$",
             "sku": "^[a-z]{2}[0-9]{3}[a-z]?$", "code": "^(AA|BB|CC)-[0-9]{2}$"}
HEAVY = {"type": "object", "properties": {
    **_ENUMS,
    **{k: {"type": "string", "pattern": p} for k, p in _PATTERNS.items()},
    **{f"n{i}": {"type": "integer", "minimum": -i * 10, "maximum": 100 + i} for i in range(5)},
    **{f"x{i}": {"type": "number", "minimum": 0, "exclusiveMaximum": 1 + i} for i in range(3)},
    "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 4},
    "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                          "maxItems": 3}, "maxItems": 3},
    "parts": {"type": "array", "maxItems": 3, "items": {"type": "object", "properties": {
        "kind": {"enum": ["bolt", "nut"]}, "size": {"type": "integer", "minimum": 1, "maximum": 20}},
        "required": ["kind", "size"], "additionalProperties": False}},
    "ranks": {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1, "maxItems": 3},
    "name": {"type": "string", "maxLength": 20}, "ok": {"type": "boolean"},
    "note": {"type": ["string", "null"], "maxLength": 30}},
    "additionalProperties": False}
HEAVY["required"] = list(HEAVY["properties"])


def decode(model, repeat=3):
    """Decode tok/s, free and constrained runs interleaved (best of `repeat`, so a busy
    machine slows all alike); a grammar's first run computes its masks as met."""
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_extras import decode_rate
    llm = llmrt.LLM(model)
    makers = [("json", Grammar.json), ("heavy schema", lambda: Grammar.from_json_schema(HEAVY))]
    grammars = [(name, make()) for name, make in makers]
    first, best, toks = {}, {}, {}
    for _ in range(repeat):
        best["free"] = max(best.get("free", 0), decode_rate(llm, None, 256)[0])
        for name, g in grammars:
            rate, toks[name] = decode_rate(llm, g, 256)
            if name not in first:
                first[name] = rate
            else:
                best[name] = max(best.get(name, 0), rate)
    free = best["free"]
    print(f"{'grammar':14} {'tokens':>6} {'first tok/s':>11} {'cached tok/s':>12} {'ratio':>6} "
          f"{'mask ms first':>13} {'cached':>7}   (unconstrained {free:.1f} tok/s, best of {repeat})")
    for (name, g), (_, make) in zip(grammars, makers):
        # grammar CPU time per token along the same tokens: a fresh grammar, then the used one
        per_tok = []
        for gr in (make(), g):
            m = gr.matcher(llm.tokenizer)
            t0 = time.process_time()
            for t in toks[name]:
                m.allowed_mask()
                m.accept(t)
            per_tok.append((time.process_time() - t0) / len(toks[name]) * 1e3)
        print(f"{name:14} {len(toks[name]):6d} {first[name]:11.1f} {best[name]:12.1f} "
              f"{best[name] / free:6.2f} {per_tok[0]:13.3f} {per_tok[1]:7.3f}")


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


def peers():
    """(name, compile(schema) -> compiled, accepts(compiled, text) -> bool) per implementation."""
    out = [("llmrt", Grammar.from_json_schema, lambda g, s: g.accepts(s))]
    try:
        import llguidance as llg

        class ByteTokens:      # one token per byte, so a matcher walks raw text
            eos_token_id, bos_token_id = 256, None
            tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]
            special_token_ids = [256]

            def __call__(self, b):
                return list(b)
        tok = llg.LLTokenizer(llg.TokenizerWrapper(ByteTokens()))

        def llg_compile(schema):
            g = llg.LLMatcher.grammar_from_json_schema(schema if isinstance(schema, dict)
                                                       else json.dumps(schema))
            is_error, msgs = llg.LLMatcher.validate_grammar_with_warnings(g, tok)
            if is_error:
                raise ValueError(msgs)
            return g

        def llg_accepts(g, text):
            m = llg.LLMatcher(tok, g, log_level=0)
            return bool(m.consume_tokens(list(text.encode()))) and not m.is_error() and m.is_accepting()
        out.append(("llguidance", llg_compile, llg_accepts))
    except ImportError:
        pass
    try:
        import xgrammar as xgr
        from xgrammar.testing import _is_grammar_accept_string

        def xgr_compile(schema):     # strict_mode=False: JSON Schema's own defaults
            return xgr.Grammar.from_json_schema(json.dumps(schema), strict_mode=False)
        out.append((f"xgrammar {getattr(xgr, '__version__', '')}".strip(), xgr_compile,
                    lambda g, s: _is_grammar_accept_string(g, s)))
    except ImportError:
        pass
    return out


def suite():
    import statistics
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from test_json_schema_suite import run_suite
    print(f"{'implementation':18} {'groups':>6} {'compiled':>8} {'unsupported':>11} {'unsound':>7} "
          f"{'incomplete':>10} {'median ms':>9} {'worst ms':>8}")
    for name, comp, acc in peers():
        r = run_suite(comp, acc, repeat=3)
        ms = r["compile_ms"] or [0.0]
        print(f"{name:18} {r['groups']:6d} {r['compiled']:8d} {r['refused']:11d} {r['unsound']:7d} "
              f"{r['incomplete']:10d} {statistics.median(ms):9.2f} {max(ms):8.1f}")


def _corpus_files():
    import glob
    return sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                         "schema_corpus", "*.json")))


def generate(model):
    """One sampled document per compiled corpus schema, validated with jsonschema."""
    import jsonschema
    from llmrt import models
    from llmrt.errors import GrammarError
    llm = llmrt.LLM(models.resolve(model, progress=False), n_ctx=1024)
    counts = {"compiled": 0, "finished": 0, "valid": 0, "narrowed": 0}
    for f in _corpus_files():
        with open(f, encoding="utf-8") as fh:
            schema = json.load(fh)
        try:
            g = Grammar.from_json_schema(schema)
        except GrammarError:
            continue
        counts["compiled"] += 1
        counts["narrowed"] += any(w.startswith("narrowed") for w in g.warnings)
        prompt = f"A JSON document for {schema.get('title', os.path.basename(f))}:\n"
        out = llm.generate_tokens(prompt, max_tokens=300, grammar=g, temperature=0.7, seed=1)
        if out.finish_reason == "length":
            continue
        counts["finished"] += 1
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        errors = [e.message for e in cls(schema, format_checker=cls.FORMAT_CHECKER)
                  .iter_errors(json.loads(out.text))]
        if errors:
            print(f"INVALID {os.path.basename(f)}: {errors[0][:120]} :: {out.text[:200]}")
        else:
            counts["valid"] += 1
    print(f"llmrt + {model}: {counts['compiled']} compiled ({counts['narrowed']} narrowed), "
          f"{counts['finished']} finished within 300 tokens, {counts['valid']} of them valid")


def corpus():
    import statistics
    files = _corpus_files()
    print(f"{'implementation':18} {'schemas':>7} {'compiled':>8} {'%':>6} {'median ms':>9} {'worst ms':>8}")
    for name, comp, _ in peers():
        ms = []
        for f in files:
            with open(f, encoding="utf-8") as fh:
                schema = json.load(fh)
            t0 = time.perf_counter()
            try:
                comp(schema)
            except Exception:        # noqa: BLE001 - a refusal of any kind counts as one
                continue
            ms.append((time.perf_counter() - t0) * 1e3)
        ms_ = ms or [0.0]
        print(f"{name:18} {len(files):7d} {len(ms):8d} {100 * len(ms) / len(files):6.1f} "
              f"{statistics.median(ms_):9.2f} {max(ms_):8.1f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append")
    ap.add_argument("--suite", action="store_true", help="JSON Schema Test Suite, llmrt and peers")
    ap.add_argument("--corpus", action="store_true", help="real-world schemas, llmrt and peers")
    ap.add_argument("--generate", metavar="MODEL", help="with --corpus: sample and validate")
    ap.add_argument("--decode", metavar="MODEL", help="decode tok/s: free, json, heavy schema")
    args = ap.parse_args()
    if args.decode:
        decode(args.decode)
        return
    if args.suite or args.corpus:
        if args.suite:
            suite()
        if args.corpus:
            corpus()
            if args.generate:
                generate(args.generate)
        return
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
