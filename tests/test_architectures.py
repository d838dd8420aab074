"""Architectures against Hugging Face transformers on tiny random-weight models.

Each model is built with transformers (float32, eager attention), written to an F32 GGUF the way
llama.cpp's converter would (tests/tiny_models.py), and run by llmrt on the same token ids.

Tolerance: max |llmrt - HF| below REL_TOL of the logit range. F32 weights run with float
activations, so what remains is llmrt's F16 KV cache (as llama.cpp's default): ~1e-4 of the
range on these models, and ~1e-5 when HF's K and V are rounded to F16 the same way.
"""

import numpy as np
import pytest

import llmrt

pytest.importorskip("torch")
pytest.importorskip("transformers")
import tiny_models  # noqa: E402  (needs torch + transformers)

REL_TOL = 1e-3
N_VOCAB = tiny_models.COMMON["vocab_size"]

# name -> (builder, builder kwargs)
VARIANTS = {
    "mistral": ("mistral", {}),                                  # llama arch, window 16, head_dim 24
    "qwen2": ("qwen2", {}),                                      # Q/K/V biases, tied output
    "qwen3": ("qwen3", {}),                                      # Q/K norm, head_dim 32 != 64/4
    "gemma3": ("gemma3", {}),                                    # window 8, final soft-cap
    # Gemma 3 ignores attn_logit_softcapping (as transformers and llama.cpp do)
    "gemma3-attn-softcap": ("gemma3", {"final_softcap": None, "attn_softcap": 2.0}),
}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """name -> TinyModel, built on first use."""
    built = {}

    def get(name):
        if name not in built:
            builder, kwargs = VARIANTS[name]
            directory = tmp_path_factory.mktemp(name)
            built[name] = tiny_models.build(builder, directory, seed=len(built) + 1, **kwargs)
        return built[name]

    return get


def prompt(n, seed=0):
    return np.random.default_rng(seed).integers(0, N_VOCAB, n).tolist()


def rel_err(ours, ref):
    return float(np.abs(ours - ref).max() / np.ptp(ref))


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("n_tokens", [7, 64])
def test_logits_match_transformers(tiny, name, n_tokens):
    model = tiny(name)
    ids = prompt(n_tokens, seed=n_tokens)
    if model.sliding_window and n_tokens > 8:
        assert n_tokens > 3 * model.sliding_window  # the window is exercised
    llm = llmrt.LLM(model.path, n_ctx=128, n_threads=1)
    assert llm.architecture == model.arch
    ref = model.hf_logits(ids)
    ours = llm.logits(ids)
    assert ours.shape == ref.shape
    assert rel_err(ours, ref) < REL_TOL, f"{name}: max diff {rel_err(ours, ref):.2e} of the logit range"


@pytest.mark.parametrize("name", ["mistral", "gemma3"])
def test_sliding_window_across_batches_and_decode_steps(tiny, name):
    """The window must hold when the prompt is split into batches and when tokens are
    decoded one at a time: visibility then comes from cells filled by earlier calls."""
    model = tiny(name)
    ids = prompt(60, seed=3)
    ref = model.hf_logits(ids)
    llm = llmrt.LLM(model.path, n_ctx=128, n_threads=1, n_batch=5)
    assert rel_err(llm.logits(ids), ref) < REL_TOL
    llm.reset()
    rows = [llm.eval_prefix(ids[:20])] + [llm.eval_next(t) for t in ids[20:]]
    assert rel_err(np.stack(rows), ref[19:]) < REL_TOL


@pytest.mark.parametrize("name", ["mistral", "gemma3"])
def test_sliding_window_is_not_vacuous(tiny, name, tmp_path):
    """The same weights with a window wider than the prompt agree inside the window and
    disagree clearly beyond it, so the comparison above really checks the window."""
    model = tiny(name)
    path = tiny_models.write_gguf(model.hf_model, model.arch, tmp_path / "wide-window.gguf",
                                  sliding_window=4096)
    ids = prompt(48, seed=4)
    ref = model.hf_logits(ids)
    full = llmrt.LLM(path, n_ctx=128, n_threads=1).logits(ids)
    w = model.sliding_window
    assert rel_err(full[:w], ref[:w]) < REL_TOL
    assert rel_err(full[w + 1:], ref[w + 1:]) > 20 * REL_TOL


def test_unknown_architecture_is_named(tmp_path):
    import gguf

    path = tmp_path / "mamba9.gguf"
    w = gguf.GGUFWriter(str(path), "mamba9")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(llmrt.ModelError, match="mamba9"):
        llmrt.LLM(path, n_ctx=16, n_threads=1)


@pytest.mark.parametrize("name, missing", [
    ("qwen2", "blk.1.attn_k.bias"),
    ("qwen3", "blk.0.attn_q_norm.weight"),
    ("gemma3", "blk.2.post_ffw_norm.weight"),
    ("mistral", "output_norm.weight"),
])
def test_missing_tensor_is_named(tiny, tmp_path, name, missing):
    model = tiny(name)
    path = tiny_models.write_gguf(model.hf_model, model.arch, tmp_path / "broken.gguf", skip={missing})
    with pytest.raises(llmrt.ModelError, match=missing.replace(".", r"\.")):
        llmrt.LLM(path, n_ctx=16, n_threads=1)
    assert llmrt.LLM(model.path, n_ctx=16, n_threads=1).logits([1, 2]).shape == (2, N_VOCAB)  # still usable
