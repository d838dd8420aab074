"""Adding an architecture is one file: tests/data/toy_arch.py registers an ArchSpec, and with
nothing else changed the converter, the random-model generator, the CLI and the loader all
take it. The converted checkpoint must match transformers, which runs it as plain Llama."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import llmrt
from llmrt import arch
from llmrt.cli import main as cli_main

pytest.importorskip("transformers")
from tiny_hf import TEST_TEXTS, hf_logits, make_model  # noqa: E402

TOY_FILE = Path(__file__).parent / "data" / "toy_arch.py"


@pytest.fixture(scope="module")
def toy():
    spec = importlib.util.spec_from_file_location("toy_arch", TOY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.TOY
    arch.unregister(module.TOY)


def test_registry_lists_it(toy):
    assert arch.lookup("toyllama") is toy
    assert arch.hf_architectures()["ToyLlamaForCausalLM"] is toy
    assert "toyllama" in arch.random_models() and "toy-tiny" in arch.random_presets()


def test_converted_checkpoint_matches_transformers(toy, tmp_path):
    llama_dir = make_model(tmp_path / "llama", arch="llama", seed=7)
    toy_dir = tmp_path / "toy"
    shutil.copytree(llama_dir, toy_dir)
    cfg = json.loads((toy_dir / "config.json").read_text())
    cfg["architectures"] = ["ToyLlamaForCausalLM"]
    (toy_dir / "config.json").write_text(json.dumps(cfg))
    out = tmp_path / "toy.gguf"
    assert cli_main(["convert", str(toy_dir), "-o", str(out), "--outtype", "f32", "-q"]) == 0

    llm = llmrt.LLM(str(out), n_ctx=64, n_threads=2, kv_type="f32")
    assert llm.metadata["general.architecture"] == "toyllama"
    ids = llm.tokenize(TEST_TEXTS[2])[:12]
    ref = hf_logits(llama_dir, ids)   # transformers' LlamaForCausalLM on the same weights
    got = llm.logits(ids)
    span = float(ref.max() - ref.min())
    assert np.abs(got - ref).max() < 1e-3 * span


def test_random_preset_runs(toy, tmp_path, capsys):
    out = tmp_path / "toy-random.gguf"
    assert cli_main(["convert", "--random", "toy-tiny", "-o", str(out), "-q"]) == 0
    llm = llmrt.LLM(str(out), n_ctx=64, n_threads=2)
    assert llm.metadata["general.architecture"] == "toyllama"
    assert len(llm.generate_tokens("hello", max_tokens=4, temperature=0.0).tokens) == 4
