"""Record llama.cpp's own sampler outputs as fixtures for tests/test_sampling.py.

Runs each case through llama.cpp's low-level sampler API (llama-cpp-python's ctypes bindings) on a
llama_token_data_array and writes tests/data/sampling_reference.json. Dev-only: needs llama_cpp.

    /opt/lcpp/bin/python tools/make_sampling_reference.py
"""

from __future__ import annotations

import ctypes
import json
import math
import pathlib

import numpy as np

import llama_cpp as L

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "sampling_reference.json"


def logp(*probs):
    return [float(np.log(np.float32(p))) for p in probs]


def big(n, seed, scale=3.0):
    """A large logit vector, regenerated in the test from (n, seed)."""
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


def make_sampler(kind, a, n_vocab):
    if kind == "top_k":
        return L.llama_sampler_init_top_k(a["k"])
    if kind == "top_p":
        return L.llama_sampler_init_top_p(a["p"], a.get("min_keep", 0))
    if kind == "min_p":
        return L.llama_sampler_init_min_p(a["p"], a.get("min_keep", 0))
    if kind == "typical":
        return L.llama_sampler_init_typical(a["p"], a.get("min_keep", 0))
    if kind == "temp":
        return L.llama_sampler_init_temp_ext(a["temp"], a.get("delta", 0.0), a.get("exponent", 1.0))
    if kind == "top_n_sigma":
        return L.llama_sampler_init_top_n_sigma(a["n"])
    if kind == "xtc":
        return L.llama_sampler_init_xtc(a["probability"], a["threshold"], a.get("min_keep", 0), 1)
    if kind == "penalties":
        return L.llama_sampler_init_penalties(n_vocab, a["last_n"], a["repeat"], a["freq"], a["present"])
    if kind == "dry":
        return L.llama_sampler_init_dry(None, a["multiplier"], a["base"], a["allowed_length"],
                                        a["last_n"], None, 0)
    if kind == "logit_bias":
        arr = (L.llama_logit_bias * len(a["bias"]))()
        for i, (t, b) in enumerate(a["bias"]):
            arr[i].token, arr[i].bias = t, b
        return L.llama_sampler_init_logit_bias(n_vocab, len(a["bias"]), arr)
    if kind == "greedy":
        return L.llama_sampler_init_greedy()
    raise ValueError(kind)


def run(kind, args, logits, history=()):
    n = len(logits)
    data = (L.llama_token_data * n)()
    for i, v in enumerate(logits):
        data[i].id, data[i].logit, data[i].p = i, float(v), 0.0
    arr = L.llama_token_data_array(data=ctypes.cast(data, ctypes.POINTER(L.llama_token_data)),
                                   size=n, selected=-1, sorted=False)
    smpl = make_sampler(kind, args, n)
    for t in history:
        L.llama_sampler_accept(smpl, t)
    L.llama_sampler_apply(smpl, ctypes.byref(arr))
    out = [arr.data[i] for i in range(arr.size)]
    L.llama_sampler_free(smpl)

    def f(x):
        return None if math.isinf(x) and x < 0 else float(x)
    return {"ids": [d.id for d in out], "logits": [f(d.logit) for d in out],
            "sorted": bool(arr.sorted), "selected": int(arr.selected)}


def cases():
    p4 = logp(0.1, 0.2, 0.3, 0.4)
    p5 = logp(0.4, 0.3, 0.2, 0.1, 0.0001)
    ties = [1.0, 2.0, 2.0, 0.5, 2.0, -1.0]
    yield "top_k", {"k": 1}, p4
    yield "top_k", {"k": 3}, p4
    yield "top_k", {"k": 4}, p4
    yield "top_k", {"k": 5}, p4
    yield "top_k", {"k": 0}, p4
    for p in (0.0, 0.7, 0.8, 0.9, 0.95, 1.0):
        yield "top_p", {"p": p}, p4
    yield "top_p", {"p": 0.5, "min_keep": 3}, p4
    for p in (0.0, 0.24, 0.26, 0.49, 0.74, 0.76, 1.0):
        yield "min_p", {"p": p}, p4
    yield "min_p", {"p": 0.76, "min_keep": 2}, p4
    yield "min_p", {"p": 0.76, "min_keep": 5}, p4
    yield "typical", {"p": 0.5}, logp(0.97, 0.01, 0.01, 0.01)
    yield "typical", {"p": 0.5}, logp(0.4, 0.2, 0.2, 0.2)
    yield "typical", {"p": 0.9}, p4
    yield "typical", {"p": 0.3, "min_keep": 3}, p4
    yield "temp", {"temp": 0.5}, p4
    yield "temp", {"temp": 2.0}, p4
    yield "temp", {"temp": 0.0}, p4
    yield "temp", {"temp": 0.0}, ties
    yield "temp", {"temp": 1.0, "delta": 0.5, "exponent": 1.0}, p4
    yield "temp", {"temp": 0.8, "delta": 0.6, "exponent": 2.0}, logp(0.7, 0.1, 0.1, 0.05, 0.05)
    for th in (0.09, 0.19, 0.29, 0.35, 0.6):
        yield "xtc", {"probability": 1.0, "threshold": th}, p5
    yield "xtc", {"probability": 1.0, "threshold": 0.09, "min_keep": 3}, p5
    yield "top_n_sigma", {"n": 1.0}, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    yield "top_n_sigma", {"n": 0.5}, [0.0, 0.1, 4.0, 4.2, -3.0]
    yield "top_n_sigma", {"n": 2.0}, [float(x) for x in big(200, 7)]
    yield "greedy", {}, ties
    hist = [1, 2, 2, 3, 3, 3, 0]
    logits = [1.0, -0.5, 2.0, 0.0, 1.5, -2.0]
    yield "penalties", {"last_n": 64, "repeat": 1.5, "freq": 0.0, "present": 0.0}, logits, hist
    yield "penalties", {"last_n": 64, "repeat": 1.0, "freq": 0.25, "present": 0.5}, logits, hist
    yield "penalties", {"last_n": 3, "repeat": 1.3, "freq": 0.1, "present": 0.2}, logits, hist
    yield "penalties", {"last_n": 0, "repeat": 1.3, "freq": 0.1, "present": 0.2}, logits, hist
    seq = [0, 1, 2, 3, 4, 0, 1, 2, 3, 5, 0, 1, 2]
    yield "dry", {"multiplier": 0.8, "base": 1.75, "allowed_length": 2, "last_n": 64}, [0.0] * 8, seq
    yield "dry", {"multiplier": 1.0, "base": 2.0, "allowed_length": 1, "last_n": 6}, [0.5] * 8, seq
    yield "dry", {"multiplier": 1.0, "base": 1.5, "allowed_length": 0, "last_n": 10}, [0.0] * 8, [3, 3, 3, 3]
    yield "dry", {"multiplier": 2.0, "base": 3.0, "allowed_length": 2, "last_n": 64}, [1.0] * 8, [1, 2, 1, 2, 1, 2, 1]
    yield "dry", {"multiplier": 0.0, "base": 3.0, "allowed_length": 2, "last_n": 64}, [1.0] * 8, [1, 2, 1, 2, 1, 2, 1]
    yield "logit_bias", {"bias": [[1, 2.5], [3, -1.0], [0, -1e30]]}, p4


def large_cases():
    """Vectors regenerated from a seed in the test (too big to store)."""
    yield "top_k", {"k": 40}, (262144, 1)
    yield "top_k", {"k": 1}, (262144, 2)
    yield "top_k", {"k": 300}, (50000, 3)
    yield "top_p", {"p": 0.95}, (4096, 4)
    yield "top_p", {"p": 0.5}, (4096, 5)
    yield "min_p", {"p": 0.05}, (262144, 6)


def main():
    out = {"llama_cpp_python": L.__version__, "cases": [], "large": []}
    for case in cases():
        kind, args, logits = case[:3]
        history = case[3] if len(case) > 3 else []
        logits = [float(np.float32(v)) for v in logits]
        out["cases"].append({"kind": kind, "args": args, "logits": logits, "history": history,
                             "expect": run(kind, args, logits, history)})
    for kind, args, (n, seed) in large_cases():
        logits = big(n, seed)
        res = run(kind, args, logits.tolist())
        out["large"].append({"kind": kind, "args": args, "n": n, "seed": seed,
                             "head": [float(v) for v in logits[:4]], "expect_ids": res["ids"]})
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}: {len(out['cases'])} cases, {len(out['large'])} large")


if __name__ == "__main__":
    main()
