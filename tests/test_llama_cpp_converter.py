"""GGUF files written by llama.cpp's own converter (convert_hf_to_gguf.py from the
llama-cpp-python source package, a dev-only tool) load in llmrt and give transformers' logits,
for every architecture llmrt runs: files from other tools, not only the ones llmrt writes.

The converter comes from LLMRT_LLAMA_CPP_DIR (a llama.cpp checkout), or is fetched once from the
package index into ~/.cache/llmrt (pip download of the llama-cpp-python sdist); without either the
test is skipped, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tiny_hf import TEST_TEXTS, hf_logits, make_model

pytest.importorskip("transformers")

SDIST = "llama-cpp-python==0.3.36"
CACHE = Path(os.environ.get("LLMRT_CACHE", Path.home() / ".cache" / "llmrt")) / "llama.cpp-converter-0.3.36"
WRAPPER = Path(__file__).with_name("run_llama_cpp_converter.py")
# name -> (make_model kwargs, the pre-tokenizer llama.cpp would name for such a tokenizer)
MODELS = {
    "llama": (dict(arch="llama"), "llama-bpe"),
    "mistral": (dict(arch="mistral", seed=1), "llama-bpe"),
    "mixtral": (dict(arch="mixtral", seed=2), "llama-bpe"),
    "qwen2": (dict(arch="qwen2", seed=3), "qwen2"),
    "qwen3": (dict(arch="qwen3", seed=4), "qwen2"),
    "qwen2moe": (dict(arch="qwen2moe", seed=5), "qwen2"),
    "qwen3moe": (dict(arch="qwen3moe", seed=6), "qwen2"),
    "gemma2": (dict(arch="gemma2", layers=4, tied=True, seed=7), "default"),  # Gemma 2 always ties
    "gemma3": (dict(arch="gemma3", layers=6, seed=8), "default"),
    "phi3": (dict(arch="phi3", seed=9), "default"),
}


def _fetch() -> Path | None:
    """The directory holding convert_hf_to_gguf.py, conversion/ and gguf-py/."""
    if os.environ.get("LLMRT_LLAMA_CPP_DIR"):
        return Path(os.environ["LLMRT_LLAMA_CPP_DIR"])
    if (CACHE / "convert_hf_to_gguf.py").is_file():
        return CACHE
    tmp = CACHE.with_name(CACHE.name + ".download")
    tmp.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python",
                        SDIST, "-d", str(tmp), "-q"], capture_output=True, text=True, timeout=600)
    sdists = list(tmp.glob("llama_cpp_python-*.tar.gz"))
    if r.returncode or not sdists:
        return None
    keep = ("vendor/llama.cpp/convert_hf_to_gguf.py", "vendor/llama.cpp/conversion/", "vendor/llama.cpp/gguf-py/")
    with tarfile.open(sdists[0]) as tar:
        for m in tar.getmembers():
            rel = m.name.split("/", 1)[-1]
            if m.isfile() and rel.startswith(keep):
                out = CACHE / rel[len("vendor/llama.cpp/"):]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(m).read())
    shutil.rmtree(tmp, ignore_errors=True)
    return CACHE


@pytest.fixture(scope="module")
def llama_cpp_dir():
    d = _fetch()
    if d is None or not (d / "convert_hf_to_gguf.py").is_file():
        pytest.skip(f"llama.cpp's converter is not available (set LLMRT_LLAMA_CPP_DIR, or let pip download {SDIST})")
    return d


@pytest.mark.parametrize("name", list(MODELS))
def test_llama_cpp_converted_file_matches_transformers(name, llama_cpp_dir, tmp_path):
    import llmrt

    kwargs, pre = MODELS[name]
    d = make_model(tmp_path / "hf", **kwargs)
    out = tmp_path / f"{name}.gguf"
    r = subprocess.run([sys.executable, str(WRAPPER), pre, str(llama_cpp_dir), str(d), "--outfile", str(out),
                        "--outtype", "f32"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    llm = llmrt.LLM(out, n_ctx=64, n_threads=2, kv_type="f32")
    ids = llm.tokenize(TEST_TEXTS[2])[:12]
    ref = hf_logits(d, ids)
    got = llm.logits(ids)
    assert np.abs(got - ref).max() <= 1e-4 * float(ref.max() - ref.min())
