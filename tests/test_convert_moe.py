"""Mixture-of-experts models end to end: tiny random Mixtral, Qwen2-MoE and Qwen3-MoE built
with transformers, converted by `llmrt convert`, run by llmrt and compared with transformers.

The converter stacks HF's per-expert matrices into llama.cpp's 3-D tensors (ffn_*_exps, ne =
(n_embd, n_ff_exp, n_expert) for gate/up); llmrt routes each token to its experts and, in a
prompt, runs each expert once over the tokens routed to it.
"""

import json
import shutil

import gguf
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import llmrt  # noqa: E402
from llmrt.cli import main as cli_main  # noqa: E402
from llmrt.convert.errors import ConvertError  # noqa: E402
from llmrt.convert import converter  # noqa: E402
from tiny_hf import TEST_TEXTS, hf_logits, make_model  # noqa: E402

# name -> (make_model kwargs, GGUF arch)
MODELS = {
    "mixtral": (dict(arch="mixtral", seed=11), "llama"),
    "qwen2moe": (dict(arch="qwen2moe", seed=12), "qwen2moe"),
    "qwen3moe": (dict(arch="qwen3moe", seed=13), "qwen3moe"),
    # transformers' own default (no renormalisation) differs from llama.cpp's qwen3moe: the
    # converter writes expert_weights_norm = false, which llmrt honours
    "qwen3moe_nonorm": (dict(arch="qwen3moe", norm_topk_prob=False, n_expert=8, n_expert_used=3, seed=14),
                        "qwen3moe"),
}
HF_EXPERT_NAMES = {  # GGUF stacked tensor -> HF per-expert template
    "mixtral": {"ffn_gate_exps": "model.layers.{}.block_sparse_moe.experts.{}.w1.weight",
                "ffn_up_exps": "model.layers.{}.block_sparse_moe.experts.{}.w3.weight",
                "ffn_down_exps": "model.layers.{}.block_sparse_moe.experts.{}.w2.weight"},
    "qwen": {"ffn_gate_exps": "model.layers.{}.mlp.experts.{}.gate_proj.weight",
             "ffn_up_exps": "model.layers.{}.mlp.experts.{}.up_proj.weight",
             "ffn_down_exps": "model.layers.{}.mlp.experts.{}.down_proj.weight"},
}


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = make_model(tmp_path_factory.mktemp(name), **MODELS[name][0])
        return cache[name]
    return get


@pytest.fixture(scope="module")
def converted(hf_dir, tmp_path_factory):
    cache = {}

    def get(name, outtype="f32"):
        if (name, outtype) not in cache:
            out = tmp_path_factory.mktemp("gguf") / f"{name}-{outtype}.gguf"
            assert cli_main(["convert", str(hf_dir(name)), "-o", str(out), "--outtype", outtype, "-q"]) == 0
            cache[name, outtype] = out
        return cache[name, outtype]
    return get


def _cfg(d):
    return json.loads((d / "config.json").read_text())


@pytest.mark.parametrize("name", ["mixtral", "qwen2moe", "qwen3moe"])
def test_expert_tensors_are_stacked(name, hf_dir, converted):
    from safetensors.numpy import load_file

    d, arch = hf_dir(name), MODELS[name][1]
    cfg = _cfg(d)
    hf = load_file(str(d / "model.safetensors"))
    reader = gguf.GGUFReader(converted(name))
    md = {k: f.contents() for k, f in reader.fields.items()}
    n_expert = cfg.get("num_local_experts") or cfg["num_experts"]
    assert md["general.architecture"] == arch
    assert md[f"{arch}.expert_count"] == n_expert
    assert md[f"{arch}.expert_used_count"] == cfg["num_experts_per_tok"]
    tensors = {t.name: t for t in reader.tensors}
    n_embd = cfg["hidden_size"]
    n_ff = cfg.get("moe_intermediate_size") or cfg["intermediate_size"]
    for il in range(cfg["num_hidden_layers"]):
        router = tensors[f"blk.{il}.ffn_gate_inp.weight"]
        assert router.shape.tolist() == [n_embd, n_expert] and router.tensor_type.name == "F32"
        for short, tmpl in HF_EXPERT_NAMES["mixtral" if name == "mixtral" else "qwen"].items():
            t = tensors[f"blk.{il}.{short}.weight"]
            want = np.stack([hf[tmpl.format(il, e)] for e in range(n_expert)])
            ne = [n_ff, n_embd, n_expert] if short == "ffn_down_exps" else [n_embd, n_ff, n_expert]
            assert t.shape.tolist() == ne
            np.testing.assert_array_equal(np.asarray(t.data).reshape(want.shape), want)
    if name == "qwen2moe":
        assert md["qwen2moe.expert_shared_feed_forward_length"] == cfg["shared_expert_intermediate_size"]
        assert tensors["blk.0.ffn_gate_inp_shexp.weight"].shape.tolist() == [n_embd]
    else:
        assert not any("shexp" in n for n in tensors)
    assert f"{arch}.expert_weights_norm" not in md   # the architecture's default: as llama.cpp


def _rel_err(got, ref):
    return float(np.abs(got - ref).max() / np.ptp(ref))


@pytest.mark.parametrize("name", list(MODELS))
def test_logits_match_transformers(name, hf_dir, converted):
    llm = llmrt.LLM(converted(name), n_ctx=64, n_threads=2, kv_type="f32")
    assert llm.hparams["n_expert"] > 0
    ids = llm.tokenize(TEST_TEXTS[2])[:12] + llm.tokenize(TEST_TEXTS[0])[:20]
    ref = hf_logits(hf_dir(name), ids)
    # 1e-4 of the range; measured 3e-7 to 6e-7 of the range (float32 summation order)
    assert _rel_err(llm.logits(ids), ref) <= 1e-4


def test_expert_weights_norm_key(converted):
    md = llmrt.GGUFFile(converted("qwen3moe_nonorm")).metadata
    assert md["qwen3moe.expert_weights_norm"] is False
    assert llmrt.LLM(converted("qwen3moe_nonorm"), n_ctx=16, n_threads=1).hparams["expert_weights_norm"] is False


@pytest.mark.parametrize("name", ["mixtral", "qwen2moe"])
def test_decode_steps_match_prefill(name, hf_dir, converted):
    """One token at a time (every expert sees all tokens of its call) agrees with transformers
    as the grouped prefill does."""
    llm = llmrt.LLM(converted(name), n_ctx=64, n_threads=2, kv_type="f32", n_batch=5)
    ids = llm.tokenize(TEST_TEXTS[1])[:16]
    ref = hf_logits(hf_dir(name), ids)
    rows = [llm.eval_prefix(ids[:6])] + [llm.eval_next(t) for t in ids[6:]]
    assert _rel_err(np.stack(rows), ref[5:]) <= 1e-4


@pytest.mark.parametrize("name", ["mixtral", "qwen2moe", "qwen3moe"])
def test_q8_0_same_greedy_tokens(name, hf_dir, converted):
    path = converted(name, "q8_0")
    types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(path).tensors}
    assert types["blk.0.ffn_up_exps.weight"] == "Q8_0" and types["blk.0.ffn_gate_inp.weight"] == "F32"
    llm = llmrt.LLM(path, n_ctx=64, n_threads=2)
    ids = llm.tokenize(TEST_TEXTS[3])[:24]
    ref = hf_logits(hf_dir(name), ids)
    got = llm.logits(ids)
    span = np.ptp(ref, axis=-1)
    err = _rel_err(got, ref)
    for t, (g, r) in enumerate(zip(got.argmax(-1), ref.argmax(-1))):
        # a different token only where transformers itself nearly ties it with its own choice:
        # closer than twice the quantization error seen over the whole prompt
        assert g == r or ref[t, r] - ref[t, g] < 2 * err * span[t], (t, g, r)
    # measured 1-3% of the range per token (the dense tiny models: 3-4%), 0.1-0.2 where a
    # near-tied router flips an expert
    assert err < 0.25
    assert (got.argmax(-1) == ref.argmax(-1)).mean() >= 0.8


def test_missing_expert_is_named(hf_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(hf_dir("qwen3moe"), d)
    cfg = _cfg(d)
    cfg["num_local_experts" if "num_local_experts" in cfg else "num_experts"] = 5
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConvertError, match="experts"):
        converter.convert(d, tmp_path / "o.gguf", "f32", progress=False)
    assert not (tmp_path / "o.gguf").exists()


def test_missing_router_is_named(converted, tmp_path):
    reader = gguf.GGUFReader(converted("qwen3moe"))
    w = gguf.GGUFWriter(str(tmp_path / "broken.gguf"), "qwen3moe")
    for k, f in reader.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        v = f.contents()
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_array(k, v)
        else:
            w.add_key_value(k, v, vtype)
    for t in reader.tensors:
        if t.name != "blk.1.ffn_gate_inp.weight":
            w.add_tensor(t.name, np.asarray(t.data).reshape(tuple(reversed(t.shape.tolist()))))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(llmrt.ModelError, match=r"blk\.1\.ffn_gate_inp\.weight"):
        llmrt.LLM(tmp_path / "broken.gguf", n_ctx=16, n_threads=1)
