#!/usr/bin/env python3
"""HTTP serving throughput: llmrt serve beside llama.cpp's llama-server (and llama-cpp-python's
server when it is installed), in one run, on the same model, slots and threads.

    python tools/bench_server.py smollm2-135m --llama-server PATH/TO/llama-server \\
        --threads 2 --parallel 16 --clients 1,4,16,64

For each number of concurrent clients C, each client streams completions back to back (distinct
prompts of about 30 tokens, --max-tokens tokens each, end-of-generation ignored so every server
generates the same count) until the run has sent max(C, --requests) requests. Reported per server
and C: aggregate generated tokens/s (all clients' tokens over the wall time of the run) and the
p50 / p99 time to first token (request sent -> first streamed token). All servers are up at
once and take turns, level by level (an idle server uses no CPU); each level starts with one
warm-up request. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

WORDS = ("river stone lamp orchard cable violin meadow harbor comet pepper anchor glacier lantern "
         "saddle copper thistle falcon marble canyon ember willow puzzle velvet tunnel").split()


def prompt(i: int) -> str:
    """A distinct prompt per request: no server gets prefix-cache hits the other does not."""
    rng = np.random.default_rng(i)
    words = " ".join(rng.choice(WORDS, 12))
    return f"Request {i}. Continue this list of words with a long story: {words}."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env=None) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {' '.join(cmd)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def one_request(client: httpx.AsyncClient, base: str, i: int, max_tokens: int, eos_bias: dict):
    """(time to first token, tokens generated) of one streamed completion."""
    body = {"prompt": prompt(i), "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "ignore_eos": True, "logit_bias": eos_bias, "stream_options": {"include_usage": True}}
    t0 = time.perf_counter()
    ttft, chunks, usage = None, 0, None
    async with client.stream("POST", base + "/v1/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            import json
            d = json.loads(line[6:])
            if d.get("usage"):
                usage = d["usage"]["completion_tokens"]
            if d.get("choices") and d["choices"][0].get("text"):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - t0
    return ttft if ttft is not None else float("nan"), usage if usage else chunks


async def run_level(base: str, clients: int, total: int, max_tokens: int, eos_bias: dict):
    counter = iter(range(10**9))
    results = []

    async def worker(client):
        while True:
            i = next(counter)
            if i >= total:
                return
            results.append(await one_request(client, base, 1000 + i + 100000 * clients, max_tokens, eos_bias))

    # A new connection per request: llama-server's HTTP library closes a kept-alive connection
    # after a few requests, which a pooled client only learns by a failed request.
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        await one_request(client, base, 0, 4, eos_bias)     # warm-up
        t0 = time.perf_counter()
        await asyncio.gather(*[worker(client) for _ in range(clients)])
        wall = time.perf_counter() - t0
    ttfts = np.array([r[0] for r in results])
    tokens = sum(r[1] for r in results)
    return tokens / wall, float(np.percentile(ttfts, 50)), float(np.percentile(ttfts, 99)), tokens


def servers(args, path: Path):
    """(name, command, port, env) of every server to run."""
    out = []
    port = free_port()
    out.append(("llmrt", [sys.executable, "-m", "llmrt.cli", "serve", str(path), "--port", str(port),
                          "-c", str(args.ctx), "-np", str(args.parallel), "-t", str(args.threads)], port,
                {**os.environ, "PYTHONPATH": str(ROOT / "python")}))
    if args.llama_server:
        port = free_port()
        out.append(("llama-server", [args.llama_server, "-m", str(path), "--port", str(port), "-c", str(args.ctx),
                                     "-np", str(args.parallel), "-t", str(args.threads), "-tb", str(args.threads),
                                     "--no-webui"], port, None))
    try:
        import llama_cpp.server  # noqa: F401
        port = free_port()
        out.append(("llama-cpp-python", [sys.executable, "-m", "llama_cpp.server", "--model", str(path),
                                         "--port", str(port), "--n_ctx", str(args.ctx // args.parallel),
                                         "--n_threads", str(args.threads),
                                         # by default a new request stops the one streaming
                                         "--interrupt_requests", "False"], port, None))
    except ImportError:
        print("llama-cpp-python's server is not installed: skipped", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="GGUF path or alias")
    ap.add_argument("--llama-server", default=None, help="path of llama.cpp's llama-server binary")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=16, help="slots of every server (-np)")
    ap.add_argument("--ctx", type=int, default=8192, help="KV cells of every server (-c)")
    ap.add_argument("--clients", default="1,4,16,64")
    ap.add_argument("--requests", type=int, default=32, help="requests per level (at least the client count)")
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()

    from llmrt import GGUFFile, models
    from llmrt.tokenizer import Tokenizer

    path = models.resolve(args.model)
    tok = Tokenizer.from_metadata(GGUFFile(path).metadata)
    eos_bias = {str(t): -100 for t in sorted(tok.eog_ids)}   # for servers without ignore_eos
    levels = [int(c) for c in args.clients.split(",")]
    table = {}
    running = []
    try:
        for name, cmd, port, env in servers(args, path):
            running.append((name, port, start(cmd, port, env)))
        # Levels outermost, servers alternating: a phase of the machine that is slower for a
        # minute slows every server's run of that level alike.
        for c in levels:
            for name, port, _ in running:
                table[(name, c)] = asyncio.run(run_level(f"http://127.0.0.1:{port}", c, max(c, args.requests),
                                                         args.max_tokens, eos_bias))
                tps, p50, p99, n = table[(name, c)]
                print(f"{name:>16} {c:3d} clients: {tps:8.1f} tok/s  TTFT p50 {p50 * 1000:7.1f} ms  "
                      f"p99 {p99 * 1000:7.1f} ms  ({n} tokens)", flush=True)
    finally:
        for _, _, proc in running:
            stop(proc)
    names = sorted({n for n, _ in table}, key=lambda n: n != "llmrt")
    print(f"\n{path.name}: {args.threads} threads, {args.parallel} slots, {args.max_tokens} tokens per request")
    print("| clients | " + " | ".join(f"{n} tok/s | {n} TTFT p50 / p99 ms" for n in names) + " | llmrt / llama-server |")
    print("|---" * (2 * len(names) + 2) + "|")
    for c in levels:
        cells = []
        for n in names:
            tps, p50, p99, _ = table[(n, c)]
            cells += [f"{tps:.1f}", f"{p50 * 1000:.0f} / {p99 * 1000:.0f}"]
        ratio = (f"{table[('llmrt', c)][0] / table[('llama-server', c)][0]:.2f}x"
                 if ("llama-server", c) in table else "")
        print(f"| {c} | " + " | ".join(cells) + f" | {ratio} |")


if __name__ == "__main__":
    main()
