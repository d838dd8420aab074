"""Time the sampler chain per token on a random Gemma-sized (262,144) logit vector, next to
llama.cpp's own sampler chain for the same settings in the same run (when llama_cpp imports).

    PYTHONPATH=python /opt/lcpp/bin/python tools/bench_sampling.py [--n-vocab N] [--iters N] [--all]

llama.cpp is timed on llama_sampler_apply + accept of a llama_token_data_array that is refilled
from the logits before each token (the refill, which llama_sampler_sample does too, is reported
apart). Both run on one thread.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

from llmrt.sampling import SamplingParams, build_chain  # noqa: E402

try:
    import llama_cpp as L
except Exception:  # noqa: BLE001 - any failure means "no reference available"
    L = None

VARIANTS = {
    "default": {},
    "greedy (temp 0)": {"temp": 0.0},
    "top-p only (top_k 0, min_p 0)": {"top_k": 0, "min_p": 0.0},
    "penalties + DRY": {"penalty_repeat": 1.1, "penalty_freq": 0.1, "dry_multiplier": 0.8},
}


def logit_stream(n_vocab: int, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n_vocab) * 3.0).astype(np.float32) for _ in range(count)]


def time_ours(params: SamplingParams, xs, warmup: int = 5) -> list[float]:
    chain = build_chain(params, xs[0].shape[0], n_ctx=4096, n_ctx_train=4096)
    for x in xs[:warmup]:
        chain.accept(chain.sample(x))
    times = []
    for x in xs:
        t0 = time.perf_counter()
        tok = chain.sample(x)
        chain.accept(tok)
        times.append(time.perf_counter() - t0)
    return times


def llama_chain(p: SamplingParams, n_vocab: int):
    """The chain common_sampler_init builds (mirostat off)."""
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    add = lambda s: L.llama_sampler_chain_add(chain, s)  # noqa: E731
    add(L.llama_sampler_init_logit_bias(n_vocab, 0, None))
    for name in p.sampler_names():
        if name == "penalties":
            add(L.llama_sampler_init_penalties(n_vocab, p.penalty_last_n, p.penalty_repeat,
                                               p.penalty_freq, p.penalty_present))
        elif name == "dry":
            add(L.llama_sampler_init_dry(None, p.dry_multiplier, p.dry_base, p.dry_allowed_length,
                                         64 if p.dry_penalty_last_n == -1 else p.dry_penalty_last_n,
                                         None, 0))
        elif name == "top_n_sigma":
            add(L.llama_sampler_init_top_n_sigma(p.top_n_sigma))
        elif name == "top_k":
            add(L.llama_sampler_init_top_k(p.top_k))
        elif name == "typ_p":
            add(L.llama_sampler_init_typical(p.typ_p, p.min_keep))
        elif name == "top_p":
            add(L.llama_sampler_init_top_p(p.top_p, p.min_keep))
        elif name == "min_p":
            add(L.llama_sampler_init_min_p(p.min_p, p.min_keep))
        elif name == "xtc":
            add(L.llama_sampler_init_xtc(p.xtc_probability, p.xtc_threshold, p.min_keep, 1))
        elif name == "temperature":
            add(L.llama_sampler_init_temp_ext(p.temp, p.dynatemp_range, p.dynatemp_exponent))
    add(L.llama_sampler_init_dist(1))
    return chain


TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


def time_llama(params: SamplingParams, xs, warmup: int = 5) -> tuple[list[float], list[float]]:
    n = xs[0].shape[0]
    assert ctypes.sizeof(L.llama_token_data) == TOKEN_DATA.itemsize
    chain = llama_chain(params, n)
    buf = np.zeros(n, dtype=TOKEN_DATA)
    ptr = ctypes.cast(buf.ctypes.data, ctypes.POINTER(L.llama_token_data))
    apply_t, fill_t = [], []
    for i, x in enumerate(xs[:warmup] + xs):
        t0 = time.perf_counter()
        buf["id"] = np.arange(n, dtype=np.int32)
        buf["logit"] = x
        arr = L.llama_token_data_array(data=ptr, size=n, selected=-1, sorted=False)
        t1 = time.perf_counter()
        L.llama_sampler_apply(chain, ctypes.byref(arr))
        L.llama_sampler_accept(chain, arr.data[arr.selected].id)
        t2 = time.perf_counter()
        if i >= warmup:
            fill_t.append(t1 - t0)
            apply_t.append(t2 - t1)
    L.llama_sampler_free(chain)
    return apply_t, fill_t


def ms(ts) -> str:
    return f"median {statistics.median(ts) * 1e3:7.3f} ms  (p90 {np.percentile(ts, 90) * 1e3:7.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-vocab", type=int, default=262144)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--all", action="store_true", help="also time a few non-default chains")
    args = ap.parse_args()
    xs = logit_stream(args.n_vocab, args.iters)
    print(f"n_vocab {args.n_vocab}, {args.iters} tokens, numpy {np.__version__}, "
          f"llama_cpp {'%s' % L.__version__ if L else 'not importable'}")
    names = list(VARIANTS) if args.all else ["default"]
    for name in names:
        params = SamplingParams(seed=1, **VARIANTS[name])
        ours = time_ours(params, xs)
        print(f"[{name}]")
        print(f"  llmrt      sample+accept          {ms(ours)}")
        if L is not None:
            apply_t, fill_t = time_llama(params, xs)
            ratio = statistics.median(ours) / statistics.median(apply_t)
            print(f"  llama.cpp  apply+accept           {ms(apply_t)}")
            print(f"  llama.cpp  + array refill         {ms([a + f for a, f in zip(apply_t, fill_t)])}")
            print(f"  ratio llmrt / llama.cpp (apply)   {ratio:.2f}x")


if __name__ == "__main__":
    main()
