"""Long-context RoPE in the converter and the loader: Llama 3's frequency factors as written,
unknown scaling types and tensors refused. The logits of every architecture with its scaling,
at positions 0-100 and 2000-3000, are in test_convert.py and test_llama_cpp_converter.py
(tests/long_context.py)."""

from __future__ import annotations

import numpy as np
import pytest

from long_context import LLAMA3

pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def llama3(long_context):
    """The F32 GGUF that llmrt convert writes for the tiny Llama 3 long-context model."""
    return long_context.gguf("llama", "llmrt", "f32")


def test_converter_writes_the_frequency_factors(llama3):
    from llmrt.arch.hf_rope_factors import llama3_rope_factors

    reader = gguf.GGUFReader(llama3)
    t = next(t for t in reader.tensors if t.name == "rope_freqs.weight")
    factors = np.asarray(t.data, np.float32)
    assert factors.shape == (8,) and factors[0] == 1.0 and factors[-1] == 8.0
    assert 1.0 < factors[2] < 8.0           # the interpolated band
    cfg = {"hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {**LLAMA3, "rope_theta": 10000.0}}
    np.testing.assert_array_equal(llama3_rope_factors(cfg), factors)
    assert not any(k.endswith("rope.scaling.type") for k in reader.fields)


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

    reader = gguf.GGUFReader(llama3)
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
