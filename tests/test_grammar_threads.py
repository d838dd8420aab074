"""One grammar shared by matchers in 8 threads (the server's requests do this): every mask is the
one a private grammar computes alone."""

from __future__ import annotations

import json
import sys
import threading

import numpy as np

from llmrt import GGUFFile, Grammar
from llmrt.tokenizer import Tokenizer

SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}},
    "ok": {"type": "boolean"}}, "required": ["name", "age"]}


def _documents(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        doc = {"name": f"n{i}" * int(rng.integers(1, 4)), "age": int(rng.integers(0, 10**6)),
               "tags": [["red", "green", "blue"][int(t)] for t in rng.integers(0, 3, int(rng.integers(0, 4)))]}
        if i % 2:
            doc["ok"] = bool(i % 3)
        out.append(json.dumps(doc))
    return out


def _mask_digests(grammar, tok, text: str) -> list[bytes]:
    m = grammar.matcher(tok)
    digests = []
    for t in tok.tokenize(text, add_special=False):
        digests.append(np.packbits(m.allowed_mask()).tobytes())
        m.accept(t)
    return digests


def test_one_grammar_shared_by_eight_threads(smollm2_path):
    tok = Tokenizer.from_metadata(GGUFFile(smollm2_path).metadata)
    docs = _documents(16)
    expected = [_mask_digests(Grammar.from_json_schema(SCHEMA), tok, d) for d in docs]
    shared = Grammar.from_json_schema(SCHEMA)   # fresh: every state is made under contention
    results, errors = {}, []

    def worker(k: int) -> None:
        try:
            for i in range(k, len(docs), 8):
                results[i] = _mask_digests(shared, tok, docs[i])
        except BaseException as e:  # reported below: a thread's exception must fail the test
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)   # switch threads as often as possible
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
    assert [results[i] for i in range(len(docs))] == expected
