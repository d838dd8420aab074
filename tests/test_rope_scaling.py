"""Long-context RoPE: a tiny random Llama with Llama 3's rope_scaling, converted, against
transformers at early and late positions (the frequency factors matter most far out)."""

from __future__ import annotations

import numpy as np
import pytest

from tiny_hf import make_model

pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")

# head_dim 16, base 10000: wavelengths 6.3 .. 1.1e4 positions. With an original context of 64
# and the default low/high factors, the shortest wavelength keeps its frequency, one falls in the
# interpolated band and the rest are divided by `factor`: every branch of the scaling runs.
LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 64}
# Qwen 2.5's long-context setting in small: an original context of 64 stretched 4 times.
YARN = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}
# Phi-3's LongRoPE in small: per-frequency divisors for short and long contexts.
LONGROPE = {"rope_type": "longrope", "original_max_position_embeddings": 64,
            "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.0, 3.5],
            "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 12.0, 16.0]}
N_POSITIONS = 3000


def _converted(tmp_path_factory, arch: str, scaling: dict, seed: int):
    """(HF directory, F32 GGUF written by llmrt convert) of a tiny long-context model."""
    from llmrt.cli import main as cli_main

    d = make_model(tmp_path_factory.mktemp(arch), arch, rope_scaling=scaling, max_positions=4096, seed=seed)
    out = tmp_path_factory.mktemp("gguf") / f"{arch}.gguf"
    assert cli_main(["convert", str(d), "-o", str(out), "--outtype", "f32", "-q"]) == 0
    return d, out


@pytest.fixture(scope="module")
def llama3(tmp_path_factory):
    return _converted(tmp_path_factory, "llama", LLAMA3, seed=7)


def test_converter_writes_the_frequency_factors(llama3):
    from llmrt.arch.hf_rope_factors import llama3_rope_factors

    _, path = llama3
    reader = gguf.GGUFReader(path)
    t = next(t for t in reader.tensors if t.name == "rope_freqs.weight")
    factors = np.asarray(t.data, np.float32)
    assert factors.shape == (8,) and factors[0] == 1.0 and factors[-1] == 8.0
    assert 1.0 < factors[2] < 8.0           # the interpolated band
    cfg = {"hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {**LLAMA3, "rope_theta": 10000.0}}
    np.testing.assert_array_equal(llama3_rope_factors(cfg), factors)
    assert not any(k.endswith("rope.scaling.type") for k in reader.fields)


@pytest.fixture(scope="module")
def qwen2_yarn(tmp_path_factory):
    return _converted(tmp_path_factory, "qwen2", YARN, seed=8)


@pytest.fixture(scope="module")
def phi3_longrope(tmp_path_factory):
    return _converted(tmp_path_factory, "phi3", LONGROPE, seed=9)


@pytest.mark.parametrize("model", ["llama3", "qwen2_yarn", "phi3_longrope"])
def test_logits_match_transformers_far_out(model, request):
    import torch
    import transformers as tf

    import llmrt

    d, path = request.getfixturevalue(model)
    llm = llmrt.LLM(path, n_ctx=N_POSITIONS + 8, n_threads=2, kv_type="f32")
    ids = np.random.default_rng(0).integers(3, llm.n_vocab - 3, N_POSITIONS).tolist()
    model = tf.AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].numpy()
    got = llm.logits(ids)
    for lo, hi in ((0, 100), (2000, 3000)):
        span = float(ref[lo:hi].max() - ref[lo:hi].min())
        err = float(np.abs(got[lo:hi] - ref[lo:hi]).max())
        assert err < 1e-3 * span, f"positions {lo}-{hi}: max error {err / span:.2e} of the logit range"


def test_unknown_rope_scaling_is_refused(tmp_path):
    from llmrt.convert import ConvertError
    from llmrt.arch.hf_metadata import base_metadata

    class Writer:
        def __getattr__(self, name):
            return lambda *a, **k: None

    cfg = {"num_hidden_layers": 1, "hidden_size": 64, "num_attention_heads": 4,
           "rope_scaling": {"rope_type": "longrope", "short_factor": [1.0] * 8, "long_factor": [2.0] * 8}}
    with pytest.raises(ConvertError, match="longrope"):
        base_metadata(Writer(), cfg)


def test_unknown_tensor_is_refused(llama3, tmp_path):
    """A tensor without a role is named in a ModelError instead of being ignored."""
    import llmrt

    _, path = llama3
    reader = gguf.GGUFReader(path)
    out = tmp_path / "extra.gguf"
    w = gguf.GGUFWriter(str(out), "llama")
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = field.contents()
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_array(key, value)
        else:
            w.add_key_value(key, value, vtype)
    for t in reader.tensors:
        w.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type)
    w.add_tensor("blk.0.attn_mystery.weight", np.ones(4, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(llmrt.ModelError, match="blk.0.attn_mystery.weight"):
        llmrt.LLM(out, n_ctx=64, n_threads=1)
