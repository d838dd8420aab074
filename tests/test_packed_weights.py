"""Packed weights (csrc/quant/packed.h): copies of the Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 and Q2_K..Q6_K matrices
made at load in a row-interleaved layout (8 rows on AVX2, 16 on AVX-512 VNNI). They change the kernels and the float summation order, never
the model. Each matmul agrees with the unpacked kernels to float rounding (test_matmul.py);
through a whole model the two loads agree to the noise floor that every 8-bit re-quantization
of the activations sets (a rounding flipped by 1e-7 moves a value by 1/254 of its block's
range, and 30 layers carry that on), as batched and token-by-token decode do
(test_llama_cpp_parity.py)."""

import gguf
import numpy as np
import pytest

import llmrt
from llmrt import _core_testing

pytestmark = pytest.mark.skipif(not _core_testing.can_pack(3, 512, 16), reason="no packed layouts in this build")


@pytest.mark.parametrize("which", ["smollm2_path", "gemma3_path"])
def test_packed_and_unpacked_loads_agree(which, request):
    path = request.getfixturevalue(which)
    from test_llama_cpp_parity import MAX_ERR, MEAN_ERR, load_reference

    alias = "smollm2-135m" if which == "smollm2_path" else "gemma3-270m"
    tokens = load_reference(alias)["prompts"][1]["tokens"]
    packed = llmrt.LLM(path, n_ctx=128, n_threads=2)
    plain = llmrt.LLM(path, n_ctx=128, n_threads=2, repack=False)
    assert packed._model.packed_bytes > 10_000_000      # the layers (SmolLM2) or the head (Gemma)
    assert plain._model.packed_bytes == 0
    a, b = packed.logits(tokens), plain.logits(tokens)
    rel = np.abs(a - b).max(axis=1) / np.ptp(b, axis=1)
    assert rel.mean() < MEAN_ERR * 2 and rel.max() < MAX_ERR
    assert (a.argmax(axis=1) == b.argmax(axis=1)).mean() > 0.9


def test_repack_follows_the_environment(smollm2_path, monkeypatch):
    monkeypatch.setenv("LLMRT_REPACK", "0")
    assert llmrt.LLM(smollm2_path, n_ctx=32)._model.packed_bytes == 0


@pytest.mark.parametrize("outtype, packed_types", [("q2_k", {"Q2_K", "Q3_K"}), ("q3_k_m", {"Q3_K"}),
                                                   ("q5_k_m", {"Q5_K"}), ("q5_1", {"Q5_1"}),
                                                   ("iq4_xs", {"IQ4_XS"}), ("iq4_nl", {"IQ4_NL"})])
def test_packed_loads_of_every_k_mix_agree(outtype, packed_types, tmp_path):
    """The Q2_K, Q3_K, Q5_K, Q5_1, IQ4_XS and IQ4_NL layouts through a whole (tiny, random) model. With eight
    tokens the unpacked load's kernels read the same 8-bit activations, and each matmul agrees
    to ~3e-7; at the logits that grows to the noise floor of re-quantizing the activations of
    every layer (measured 0.0000-0.013 of the logit range), far below what a wrong kernel gives."""
    from llmrt.convert import random_model as rm

    path = tmp_path / f"tiny-{outtype}.gguf"
    rm.write_random(path, None, "llama", outtype, seed=3, progress=False, hidden=512, layers=2, heads=8,
                    kv_heads=2, ffn=768, vocab=512, context=64)
    types = {t.type_name for t in llmrt.GGUFFile(path).tensors}
    assert packed_types <= types, types
    if not all(_core_testing.can_pack(int(gguf.GGMLQuantizationType[t]), 512, 16) for t in packed_types):
        pytest.skip(f"no packed layout for {packed_types} at this SIMD level")
    packed = llmrt.LLM(str(path), n_ctx=32, n_threads=2)
    plain = llmrt.LLM(str(path), n_ctx=32, n_threads=2, repack=False)
    assert packed._model.packed_bytes > 0 and plain._model.packed_bytes == 0
    tokens = list(range(5, 13))
    a, b = packed.logits(tokens), plain.logits(tokens)
    rel = np.abs(a - b).max(axis=1) / np.ptp(b, axis=1)
    assert rel.max() < 0.02, rel
