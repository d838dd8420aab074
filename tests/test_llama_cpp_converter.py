"""GGUF files written by llama.cpp's own converter (convert_hf_to_gguf.py, run by
tests/llama_cpp_converter.py) load in llmrt and give transformers' logits, for every architecture
llmrt runs: files from other tools, not only the ones llmrt writes. These are short plain models
(no RoPE scaling, F32); test_long_context.py runs llama.cpp's files of the long-context ones."""

from __future__ import annotations

import numpy as np
import pytest

import llama_cpp_converter
from tiny_hf import TEST_TEXTS, hf_logits, make_model

pytest.importorskip("transformers")

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


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (checkpoint directory, F32 GGUF), every model converted in one process."""
    root = tmp_path_factory.mktemp("llama_cpp")
    dirs = {name: make_model(root / name, **kwargs) for name, (kwargs, _) in MODELS.items()}
    files = {name: root / f"{name}.gguf" for name in MODELS}
    llama_cpp_converter.convert([(MODELS[n][1], dirs[n], files[n], "f32") for n in MODELS], root)
    return {name: (dirs[name], files[name]) for name in MODELS}


@pytest.mark.parametrize("name", list(MODELS))
def test_llama_cpp_converted_file_matches_transformers(name, converted):
    import llmrt

    d, path = converted[name]
    llm = llmrt.LLM(path, n_ctx=64, n_threads=2, kv_type="f32")
    ids = llm.tokenize(TEST_TEXTS[2])[:12]
    ref = hf_logits(d, ids)
    got = llm.logits(ids)
    assert np.abs(got - ref).max() <= 1e-4 * float(ref.max() - ref.min())

