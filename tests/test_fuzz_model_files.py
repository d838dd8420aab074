"""Malformed model files: truncations, byte flips in the metadata and tensor-info region,
extreme values for every numeric key the loader reads, and hand-made inconsistencies (tensor
types, offsets, block count). Loading each must end in an llmrt error or in a model that
computes finite logits and generates; never a foreign exception, a crash or a hang.

The files are mutations of a tiny random llama (loads in milliseconds). Each runs in a
subprocess (tests/model_file_fuzz_worker.py), many per process; when a process dies, the files
it had not reported on are rerun one per process, so the crash is pinned on its file.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from gguf import GGUFValueType as V

from gguf_image import Image, header_size
from llmrt.convert import random_model

WORKER = Path(__file__).with_name("model_file_fuzz_worker.py")
SEED = 20240611
N_TRUNCATIONS = 40
N_FLIPS = 160
BATCH_TIMEOUT_S = 120
F16 = 1

LLAMA_INT_KEYS = ["block_count", "context_length", "embedding_length", "feed_forward_length",
                  "attention.head_count", "attention.head_count_kv", "attention.key_length",
                  "attention.value_length", "rope.dimension_count", "vocab_size",
                  "attention.sliding_window", "expert_count", "expert_used_count"]
LLAMA_FLOAT_KEYS = ["rope.freq_base", "attention.layer_norm_rms_epsilon", "rope.scaling.factor",
                    "attn_logit_softcapping", "final_logit_softcapping"]
TOKENIZER_ID_KEYS = ["bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id",
                     "eot_token_id"]
INT_EXTREMES = [(0, V.UINT32), (1, V.UINT32), (2**31 - 1, V.UINT32), (2**32 - 1, V.UINT32),
                (-1, V.INT32), (2**64 - 1, V.UINT64), (math.nan, V.FLOAT32), ("12", V.STRING)]
FLOAT_EXTREMES = [(0.0, V.FLOAT32), (-1.0, V.FLOAT32), (math.nan, V.FLOAT32), (math.inf, V.FLOAT32),
                  (-math.inf, V.FLOAT32), (3e38, V.FLOAT32), (1e-45, V.FLOAT32), (2**32 - 1, V.UINT32)]

# Files that must be refused: each loads "successfully" into garbage unless checked.
MUST_FAIL = {"head_count=0", "embedding_length=0xFFFFFFFF", "feed_forward_length=0xFFFFFFFF",
             "attention.head_count=0xFFFFFFFF", "attention.head_count_kv=0xFFFFFFFF",
             "vocab_size=0xFFFFFFFF", "rope.dimension_count=0xFFFFFFFF", "token_embd.weight as F16",
             "output_norm.weight as F16", "blk.0.attn_norm.weight as F16", "all offsets 0",
             "offset onto another tensor", "rope.freq_base=NaN", "layer_norm_rms_epsilon=-1",
             "block_count=1 with 2 layers of tensors"}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "tiny-llama.gguf"
    return random_model.write_random(out, None, "llama", "q8_0", seed=3, threads=1, progress=False,
                                     hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vocab=512,
                                     context=256)


def specific_cases(image: Image) -> dict[str, bytes]:
    """The malformed files a hostile user found, rebuilt on the tiny model."""
    k = "llama."
    cases = {
        "head_count=0": image.copy().set(k + "attention.head_count", 0, V.UINT32),
        "rope.freq_base=NaN": image.copy().set(k + "rope.freq_base", math.nan, V.FLOAT32),
        "layer_norm_rms_epsilon=-1": image.copy().set(k + "attention.layer_norm_rms_epsilon", -1.0, V.FLOAT32),
        "block_count=1 with 2 layers of tensors": image.copy().set(k + "block_count", 1, V.UINT32),
    }
    for key in ("embedding_length", "feed_forward_length", "attention.head_count",
                "attention.head_count_kv", "vocab_size", "rope.dimension_count"):
        cases[f"{key}=0xFFFFFFFF"] = image.copy().set(k + key, 2**32 - 1, V.UINT32)
    for name in ("token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight"):
        cases[f"{name} as F16"] = image.copy().edit_tensor(name, type=F16)
    zeroed = image.copy()
    zeroed.tensors = [replace(t, offset=0) for t in zeroed.tensors]
    cases["all offsets 0"] = zeroed
    cases["offset onto another tensor"] = image.copy().edit_tensor("blk.1.ffn_up.weight", offset=0)
    return {name: img.to_bytes() for name, img in cases.items()}


def extreme_value_cases(image: Image) -> dict[str, bytes]:
    keys = [(f"llama.{k}", INT_EXTREMES) for k in LLAMA_INT_KEYS]
    keys += [(f"llama.{k}", FLOAT_EXTREMES) for k in LLAMA_FLOAT_KEYS]
    keys += [(f"tokenizer.ggml.{k}", INT_EXTREMES) for k in TOKENIZER_ID_KEYS]
    cases = {}
    for key, extremes in keys:
        for value, vtype in extremes:
            cases[f"{key}={value!r} ({vtype.name})"] = image.copy().set(key, value, vtype).to_bytes()
    return cases


def truncation_cases(data: bytes, rng: random.Random) -> dict[str, bytes]:
    cuts = {0, 3, 4, 8, 23, 24, len(data) - 1} | {rng.randrange(len(data)) for _ in range(N_TRUNCATIONS)}
    return {f"truncated to {n} bytes": data[:n] for n in sorted(cuts)}


def flip_cases(data: bytes, header: int, rng: random.Random) -> dict[str, bytes]:
    cases = {}
    while len(cases) < N_FLIPS:
        pos = rng.randrange(header)
        mask = 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
        mutated = bytearray(data)
        mutated[pos] ^= mask
        cases[f"byte {pos} ^= 0x{mask:02x}"] = bytes(mutated)
    return cases


def run_worker(paths: list[str], timeout: float) -> tuple[dict[int, str], str]:
    """Outcomes the worker reported (by index into paths) and how the process ended."""
    try:
        proc = subprocess.run([sys.executable, str(WORKER), json.dumps(paths)], capture_output=True,
                              text=True, timeout=timeout)
        ended = f"exit status {proc.returncode}" + (f": {proc.stderr.strip()[-300:]}" if proc.returncode else "")
        stdout = proc.stdout
    except subprocess.TimeoutExpired as e:
        ended = f"no answer within {timeout:.0f} s"
        stdout = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    seen = {}
    for line in stdout.splitlines():
        index, _, result = line.partition("\t")
        if index.isdigit():
            seen[int(index)] = result
    return seen, ended


def run_batch(paths: list[str]) -> list[str]:
    seen, ended = run_worker(paths, BATCH_TIMEOUT_S)
    for i in range(len(paths)):
        if i not in seen:   # the process died or hung before reporting this file: alone, it tells which
            alone, alone_ended = run_worker([paths[i]], 30)
            seen[i] = alone.get(0, f"crash ({alone_ended})")
    return [seen[i] for i in range(len(paths))]


def test_malformed_model_files_load_or_raise_llmrt_errors(base, tmp_path):
    image = Image.read(base)
    data = base.read_bytes()
    rng = random.Random(SEED)
    cases = {**specific_cases(image), **extreme_value_cases(image),
             **truncation_cases(data, rng), **flip_cases(data, header_size(image), rng)}
    names, paths = list(cases), []
    for i, name in enumerate(names):
        path = tmp_path / f"case{i:04d}.gguf"
        path.write_bytes(cases[name])
        paths.append(str(path))
    half = len(paths) // 2
    with ThreadPoolExecutor(2) as pool:   # one worker process per core
        outcomes = [o for part in pool.map(run_batch, [paths[:half], paths[half:]]) for o in part]

    results = dict(zip(names, outcomes))
    bad = {n: r for n, r in results.items() if not (r == "ok" or r.startswith("error "))}
    loaded = {n for n in MUST_FAIL if results[n] == "ok"}
    assert not bad, f"{len(bad)} of {len(names)} files ended badly: " + \
        "; ".join(f"{n}: {r}" for n, r in list(bad.items())[:20])
    assert not loaded, f"malformed files loaded without an error: {sorted(loaded)}"
    assert sum(r == "ok" for r in outcomes) > 0 and sum(r != "ok" for r in outcomes) > len(names) // 2
