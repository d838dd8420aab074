#!/usr/bin/env python3
"""Aggregate serving throughput of llmrt on Ray Serve by replicas x threads, beside one plain
`llmrt serve` process, on one machine.

    python tools/bench_ray.py smollm2-135m --configs 1x1,2x1,1x2 --clients 16 --requests 48 --max-tokens 64

One local Ray instance (CPUs: the machine's cores); for each REPLICASxTHREADS config the
application is deployed anew and C clients stream completions back to back (bench_server.py's
workload: distinct prompts, end-of-generation ignored) until --requests have been sent. Reported:
generated tokens/s over the run's wall time and p50 / p99 time to first token. The plain row
runs `llmrt serve -t THREADS` with the same slots, for Ray's own cost. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tools"))

from bench_server import free_port, run_level, start, stop  # noqa: E402


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                "unknown CPU")


def wait_replicas(base: str, n: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            h = httpx.get(base + "/health", timeout=30).json()
            if h["status"] == "ok" and len(h["replicas"]) == n:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise SystemExit(f"{n} replicas did not come up")


def row(name: str, result) -> None:
    tps, p50, p99, tokens = result
    print(f"| {name:<22} | {tps:10.1f} | {p50 * 1000:8.0f} | {p99 * 1000:8.0f} | {tokens:6d} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default="smollm2-135m")
    ap.add_argument("--configs", default="1x1,2x1,1x2", help="REPLICASxTHREADS, comma-separated")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=48)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=8, help="slots per replica")
    ap.add_argument("--ctx", type=int, default=4096, help="KV cells per replica")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain llmrt serve row")
    args = ap.parse_args()

    import ray
    from ray import serve

    from llmrt import models
    from llmrt.server.ray.deployment import RayServeOptions, application

    path = models.resolve(args.model)
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    print(f"`python tools/bench_ray.py {' '.join(sys.argv[1:])}` on {cpu_model()}, {os.cpu_count()} CPUs, "
          f"{datetime.date.today()} (load average {os.getloadavg()[0]:.1f} at the start); {path.name}, "
          f"{args.clients} clients, {args.requests} requests x {args.max_tokens} tokens, "
          f"{args.parallel} slots per replica\n")
    print("| config                 |   tokens/s | p50 TTFT ms | p99 TTFT ms | tokens |")
    print("| --- | ---: | ---: | ---: | ---: |")
    level = (args.clients, args.requests, args.max_tokens, {})

    if not args.no_plain:
        for _, threads in sorted({(1, t) for _, t in configs}):
            port = free_port()
            proc = start([sys.executable, "-m", "llmrt.cli", "serve", str(path), "--port", str(port),
                          "-c", str(args.ctx), "-np", str(args.parallel), "-t", str(threads)], port,
                         {**os.environ, "PYTHONPATH": str(ROOT / "python")})
            try:
                row(f"plain, {threads} thread(s)", asyncio.run(run_level(f"http://127.0.0.1:{port}", *level)))
            finally:
                stop(proc)

    port = free_port()
    ray.init(include_dashboard=False, logging_level="error", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "python")}})
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        base = f"http://127.0.0.1:{port}"
        for replicas, threads in configs:
            serve.run(application(RayServeOptions(model=str(path), replicas=replicas, threads=threads,
                                                  parallel=args.parallel, ctx_size=args.ctx)),
                      name="llmrt", route_prefix="/")
            wait_replicas(base, replicas)
            row(f"Ray, {replicas} x {threads} thread(s)", asyncio.run(run_level(base, *level)))
            serve.delete("llmrt")
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
