"""llama.cpp's own convert_hf_to_gguf.py (from the llama-cpp-python source package, a dev-only
tool), run on the tiny test checkpoints.

The converter comes from LLMRT_LLAMA_CPP_DIR (a llama.cpp checkout), or is fetched once from the
package index into ~/.cache/llmrt (pip download of the llama-cpp-python sdist); without either
the tests that need it are skipped, saying so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from functools import cache
from pathlib import Path

import pytest

SDIST = "llama-cpp-python==0.3.36"
CACHE = Path(os.environ.get("LLMRT_CACHE", Path.home() / ".cache" / "llmrt")) / "llama.cpp-converter-0.3.36"
WRAPPER = Path(__file__).with_name("run_llama_cpp_converter.py")


@cache
def _fetch() -> Path | None:
    """The directory holding convert_hf_to_gguf.py, conversion/ and gguf-py/ (looked for once)."""
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


def converter_dir() -> Path:
    """The converter's directory, or a skip of the calling test."""
    d = _fetch()
    if d is None or not (d / "convert_hf_to_gguf.py").is_file():
        pytest.skip(f"llama.cpp's converter is not available (set LLMRT_LLAMA_CPP_DIR, or let pip download {SDIST})")
    return d


def convert(jobs: list[tuple[str, Path, Path, str]], work: Path) -> None:
    """Run (pre-tokenizer name, checkpoint directory, output file, outtype) jobs, all in one
    process; `work` holds the job list."""
    root = converter_dir()
    spec = work / "llama_cpp_jobs.json"
    spec.write_text(json.dumps([[pre, str(d), "--outfile", str(out), "--outtype", outtype]
                                for pre, d, out, outtype in jobs]))
    r = subprocess.run([sys.executable, str(WRAPPER), str(root), str(spec)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
