"""Record the SHA-256 of both real models' logits at every SIMD level this CPU has.

The fixture (tests/data/logits_fixture.json) pins the forward pass bit for bit: a refactor of
the native core must leave every digest unchanged. Each level runs in its own process because
LLMRT_SIMD is read once, when the module loads.

    PYTHONPATH=python python tools/record_logits_fixture.py            # rewrite the fixture
    PYTHONPATH=python python tools/record_logits_fixture.py --check    # compare, exit 1 on change
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "logits_fixture.json"
LEVELS = ("scalar", "avx2", "avx512")

# One prompt, decoded two ways: a whole-prompt prefill, and greedy steps one token at a time
# through the KV cache. Threads are fixed: split attention depends on them.
WORKER = r"""
import hashlib, json, sys
import numpy as np
import llmrt
out = {"level": llmrt._core.simd_level()}
for name, path in zip(("smollm2", "gemma3"), sys.argv[1:]):
    llm = llmrt.LLM(path, n_ctx=128, n_threads=2)
    ids = llm.tokenize("The quick brown fox jumps over the lazy dog, then naps under a tree. " * 2)
    prefill = np.ascontiguousarray(llm.logits(ids), dtype=np.float32)
    out[name + "/prefill"] = hashlib.sha256(prefill.tobytes()).hexdigest()
    # decode path: prefill half, then one token at a time through the KV cache (greedy)
    h = hashlib.sha256()
    row = llm.eval_prefix(ids[: len(ids) // 2])
    for _ in range(12):
        h.update(np.ascontiguousarray(row, dtype=np.float32).tobytes())
        row = llm.eval_next(int(np.argmax(row)))
    out[name + "/decode"] = h.hexdigest()
print(json.dumps(out))
"""


def run_level(level, paths):
    env = dict(os.environ, LLMRT_SIMD=level)
    done = subprocess.run([sys.executable, "-c", WORKER, *paths], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def record(paths):
    """{level: {key: digest}} for the distinct levels this machine reaches."""
    seen = {}
    for level in LEVELS:
        result = run_level(level, paths)
        got = result.pop("level")
        if got == level:
            seen[level] = result
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the fixture instead of writing it")
    args = ap.parse_args()
    from llmrt import models
    paths = [str(models.resolve("smollm2-135m")), str(models.resolve("gemma3-270m"))]
    seen = record(paths)
    if args.check:
        fixture = json.loads(FIXTURE.read_text())
        bad = [f"{lv}/{k}" for lv, d in seen.items() for k, v in d.items() if fixture.get(lv, {}).get(k) != v]
        print("changed: " + ", ".join(bad) if bad else f"unchanged at {', '.join(seen)}")
        sys.exit(1 if bad else 0)
    FIXTURE.write_text(json.dumps(seen, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE} for {', '.join(seen)}")


if __name__ == "__main__":
    main()
