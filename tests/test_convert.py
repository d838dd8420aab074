"""llmrt convert: tiny random transformers checkpoints -> GGUF, checked against the source
tensors (gguf package reader), llama.cpp's metadata keys, transformers' logits and the Hugging
Face tokenizers' ids."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from hashlib import sha256
from pathlib import Path

import numpy as np
import pytest

from tiny_hf import TEST_TEXTS, hf_logits, make_model

gguf = pytest.importorskip("gguf")
pytest.importorskip("transformers")

from llmrt import arch as llmrt_arch  # noqa: E402
from llmrt.cli import main as cli_main  # noqa: E402
from llmrt.convert import ConvertError, converter, vocab  # noqa: E402
from llmrt.convert.tensors import SafetensorsCheckpoint, permute_qk  # noqa: E402
from llmrt.tokenizer import Tokenizer  # noqa: E402

# name -> (make_model kwargs, GGUF architecture)
MODELS = {
    "llama": (dict(arch="llama"), "llama"),
    "mistral": (dict(arch="mistral", seed=1), "llama"),
    "qwen2": (dict(arch="qwen2", seed=2), "qwen2"),
    "qwen3": (dict(arch="qwen3", seed=3), "qwen3"),
    "gemma3": (dict(arch="gemma3", layers=6, seed=4), "gemma3"),
    "gemma2": (dict(arch="gemma2", layers=4, seed=6), "gemma2"),
    "phi3": (dict(arch="phi3", seed=10), "phi3"),
    # bf16 weights, sharded with an index file, tied embeddings, rows long enough for K-quants
    "llama_bf16": (dict(arch="llama", hidden=256, ffn=512, dtype="bfloat16", shard="200KB",
                        tied=True, seed=5), "llama"),
}

# The metadata keys llama.cpp's convert_hf_to_gguf.py writes for these configs (general.* and
# tokenizer.* apart).
_BASE = {"block_count", "context_length", "embedding_length", "feed_forward_length",
         "attention.head_count", "attention.head_count_kv", "rope.freq_base",
         "attention.layer_norm_rms_epsilon"}
ARCH_KEYS = {
    "llama": _BASE | {"attention.key_length", "attention.value_length", "vocab_size", "rope.dimension_count"},
    "qwen2": _BASE,
    "qwen3": _BASE | {"attention.key_length", "attention.value_length"},
    "gemma3": _BASE | {"attention.key_length", "attention.value_length", "rope.freq_base_swa",
                       "attention.sliding_window"},
    "phi3": _BASE | {"rope.dimension_count", "rope.scaling.original_context_length", "attention.sliding_window"},
    "gemma2": (_BASE - {"rope.freq_base"}) | {"attention.key_length", "attention.value_length",
                                             "attention.sliding_window", "attn_logit_softcapping",
                                             "final_logit_softcapping"},
}


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory):
    cache = {}

    def get(name: str) -> Path:
        if name not in cache:
            kwargs, _ = MODELS[name]
            cache[name] = make_model(tmp_path_factory.mktemp(name), **kwargs)
        return cache[name]
    return get


@pytest.fixture(scope="session")
def converted(hf_dir, tmp_path_factory):
    cache = {}

    def get(name: str, outtype: str = "f32") -> Path:
        key = (name, outtype)
        if key not in cache:
            out = tmp_path_factory.mktemp("gguf") / f"{name}-{outtype}.gguf"
            assert cli_main(["convert", str(hf_dir(name)), "-o", str(out), "--outtype", outtype, "-q"]) == 0
            cache[key] = out
        return cache[key]
    return get


def _config(d: Path) -> dict:
    return json.loads((d / "config.json").read_text())


def _expected_tensor(name: str, gguf_name: str, data: np.ndarray, cfg: dict, arch: str) -> np.ndarray:
    if arch == "llama" and name.endswith("q_proj.weight"):
        return permute_qk(data, cfg["num_attention_heads"])
    if arch == "llama" and name.endswith("k_proj.weight"):
        return permute_qk(data, cfg["num_key_value_heads"])
    if arch in ("gemma2", "gemma3") and name.endswith("norm.weight"):
        return data + 1
    return data


@pytest.mark.parametrize("name", list(MODELS))
def test_tensors_and_metadata(name, hf_dir, converted):
    d, (_, arch) = hf_dir(name), MODELS[name]
    cfg = _config(d)
    reader = gguf.GGUFReader(converted(name))
    md = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert md["general.architecture"] == arch
    assert md["general.file_type"] == 0 and md["general.quantization_version"] == 2
    arch_keys = {k[len(arch) + 1:] for k in md if k.startswith(arch + ".")}
    assert arch_keys == ARCH_KEYS[arch]
    assert md[f"{arch}.block_count"] == cfg["num_hidden_layers"]
    assert md[f"{arch}.attention.head_count_kv"] == cfg["num_key_value_heads"]

    ckpt = SafetensorsCheckpoint(d)
    by_name = {t.name: t for t in reader.tensors}
    table = converter.NameMap(llmrt_arch.hf_architectures()[cfg["architectures"][0]].hf_names)
    assert len(by_name) == len(ckpt.names())
    for hf_name in ckpt.names():
        gguf_name = table(hf_name)[0]
        t = by_name[gguf_name]
        got = np.asarray(t.data).reshape(tuple(reversed(t.shape.tolist())))
        want = _expected_tensor(hf_name, gguf_name, ckpt.load(hf_name), cfg, arch)
        assert t.tensor_type == gguf.GGMLQuantizationType.F32
        np.testing.assert_array_equal(got, want, err_msg=gguf_name)
    if cfg.get("tie_word_embeddings"):
        assert "output.weight" not in by_name


@pytest.mark.parametrize("name", ["llama", "mistral", "qwen2", "qwen3", "gemma3", "gemma2", "phi3", "llama_bf16"])
def test_logits_match_transformers(name, hf_dir, converted):
    import llmrt

    arch = MODELS[name][1]
    if arch not in llmrt_arch.REGISTRY:
        pytest.skip(f"llmrt does not run {arch} yet (branch arch)")
    d = hf_dir(name)
    # f32 K/V: the default f16 cache alone moves these logits by 1-4e-4 of the range
    llm = llmrt.LLM(converted(name), n_ctx=64, n_threads=2, kv_type="f32")
    ids = llm.tokenize(TEST_TEXTS[2])[:12]
    ref = hf_logits(d, ids)
    got = llm.logits(ids)
    span = float(ref.max() - ref.min())
    # 1e-4 of the range; measured 3e-7 to 1.4e-6 of the range (float32 summation order only:
    # bf16 source weights are exact in f32, and transformers runs them in f32 here)
    assert np.abs(got - ref).max() <= 1e-4 * span


@pytest.mark.parametrize("name", ["llama", "qwen2", "gemma3"])
def test_tokenizer_matches_hf(name, hf_dir, converted):
    d = hf_dir(name)
    md = llmrt_gguf_metadata(converted(name))
    tok = Tokenizer.from_metadata(md)
    if name == "gemma3":
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(d / "tokenizer.model"))
        hf = lambda t: [2] + sp.encode(t)  # noqa: E731  (add_bos_token in tokenizer_config)
        assert md["tokenizer.ggml.model"] == "llama" and md["tokenizer.ggml.add_space_prefix"] is False
    else:
        from tokenizers import Tokenizer as HFTokenizer

        hf_tok = HFTokenizer.from_file(str(d / "tokenizer.json"))
        hf = lambda t: hf_tok.encode(t).ids  # noqa: E731
        assert md["tokenizer.ggml.model"] == "gpt2"
        assert md["tokenizer.ggml.pre"] == {"llama": "llama-bpe", "qwen2": "qwen2"}[name]
    for text in TEST_TEXTS:
        assert tok.tokenize(text, add_special=True) == hf(text), text
    tok_cfg = json.loads((d / "tokenizer_config.json").read_text())
    assert md["tokenizer.chat_template"] == tok_cfg["chat_template"]
    n_vocab = _config(d)["vocab_size"]
    assert len(md["tokenizer.ggml.tokens"]) == n_vocab
    if name != "gemma3":  # padded to config.vocab_size like llama.cpp
        assert md["tokenizer.ggml.tokens"][-1] == f"[PAD{n_vocab - 1}]"


def llmrt_gguf_metadata(path):
    from llmrt import GGUFFile

    return GGUFFile(path).metadata


def test_check_string_hash_identifies_smollm2(smollm2_path):
    """Rebuild SmolLM2's tokenizer.json from its GGUF and hash the check string: llama.cpp's
    table says "smollm", which proves CHECK_TEXT is byte-for-byte llama.cpp's."""
    from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers

    md = llmrt_gguf_metadata(smollm2_path)
    toks = md["tokenizer.ggml.tokens"]
    bpe = models.BPE(vocab={t: i for i, t in enumerate(toks)},
                     merges=[tuple(m.split(" ", 1)) for m in md["tokenizer.ggml.merges"]])
    tok = HFTokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    digest = sha256(str(tok.encode(vocab.CHECK_TEXT).ids).encode()).hexdigest()
    assert vocab.KNOWN_HASHES[digest] == "smollm"


@pytest.mark.parametrize("outtype,weight_type", [("f16", "F16"), ("bf16", "BF16"), ("q8_0", "Q8_0")])
def test_float_and_q8_outtypes(outtype, weight_type, hf_dir, converted):
    ref = {t.name: t for t in gguf.GGUFReader(converted("llama_bf16")).tensors}
    reader = gguf.GGUFReader(converted("llama_bf16", outtype))
    for t in reader.tensors:
        want = "F32" if t.name.endswith("norm.weight") else weight_type
        assert t.tensor_type.name == want, t.name
        got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)
        src = np.asarray(ref[t.name].data).reshape(-1)
        tol = {"F16": 1e-3, "BF16": 0.0, "Q8_0": 1e-2}[want] if want != "F32" else 0.0
        # bf16 source weights: bf16 output is exact
        assert np.abs(got - src).max() <= tol * np.abs(src).max() + 1e-12, t.name


def test_row_blocks_stream_through_permutation(hf_dir, converted, tmp_path, monkeypatch):
    """Tiny row blocks (one head of Q/K at a time) give the same file as whole tensors, and the
    Python heap stays far below the largest tensor."""
    monkeypatch.setattr(converter, "BLOCK_ELEMS", 64)
    out = tmp_path / "blocks.gguf"
    converter.convert(hf_dir("llama_bf16"), out, "f32", progress=False)
    assert out.read_bytes() == converted("llama_bf16").read_bytes()


def test_peak_memory_is_bounded(hf_dir, tmp_path, monkeypatch):
    """A checkpoint with a 16 MiB (float32) tensor converts with < 4 MiB of Python heap on top of
    the tokenizer: tensors are read from memory maps in row blocks."""
    from safetensors.numpy import save_file

    src = hf_dir("llama")
    d = tmp_path / "big"
    d.mkdir()
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(src / f, d / f)
    cfg = _config(src)
    n_embd, n_ff, n_vocab = 512, 8192, cfg["vocab_size"]
    cfg.update(hidden_size=n_embd, intermediate_size=n_ff, num_hidden_layers=1, head_dim=64,
               num_attention_heads=8, num_key_value_heads=8)
    (d / "config.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(0)

    def w(*shape):   # bf16 bits of small random numbers
        return (rng.standard_normal(shape, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)

    names = {"model.embed_tokens.weight": (n_vocab, n_embd), "model.norm.weight": (n_embd,),
             "lm_head.weight": (n_vocab, n_embd)}
    for part, shape in {"input_layernorm": (n_embd,), "post_attention_layernorm": (n_embd,),
                        "self_attn.q_proj": (n_embd, n_embd), "self_attn.k_proj": (n_embd, n_embd),
                        "self_attn.v_proj": (n_embd, n_embd), "self_attn.o_proj": (n_embd, n_embd),
                        "mlp.gate_proj": (n_ff, n_embd), "mlp.up_proj": (n_ff, n_embd),
                        "mlp.down_proj": (n_embd, n_ff)}.items():
        names[f"model.layers.0.{part}.weight"] = shape
    tensors = {k: w(*s) for k, s in names.items()}
    save_file(tensors, str(d / "model.safetensors"))
    # safetensors.numpy has no bf16 dtype: patch the header's dtype names in place (same length)
    raw = bytearray((d / "model.safetensors").read_bytes())
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    for v in header.values():
        if isinstance(v, dict) and v.get("dtype") == "U16":
            v["dtype"] = "BF16"
    text = json.dumps(header).encode()
    (d / "model.safetensors").write_bytes(len(text).to_bytes(8, "little") + text + bytes(raw[8 + n:]))
    del tensors, raw

    monkeypatch.setattr(converter, "BLOCK_ELEMS", 1 << 16)
    tracemalloc.start()
    try:
        converter.convert(d, tmp_path / "big.gguf", "f32", progress=False, threads=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    largest = n_ff * n_embd * 4
    assert peak < 4 * 2**20 < largest
    reader = gguf.GGUFReader(tmp_path / "big.gguf")
    t = next(t for t in reader.tensors if t.name == "blk.0.ffn_down.weight")
    assert t.data.shape == (n_embd, n_ff)


def test_progress_bars_on_stderr(hf_dir, tmp_path, capsys):
    converter.convert(hf_dir("llama"), tmp_path / "p.gguf", "f16", progress=True)
    err = capsys.readouterr().err
    assert "token_embd.weight" in err and "total [" in err and "100.0%" in err


# --- errors -------------------------------------------------------------------------------

def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_unsupported_architecture(hf_dir, tmp_path):
    d = _copy(hf_dir("llama"), tmp_path / "m")
    cfg = _config(d)
    cfg["architectures"] = ["FancyNewForCausalLM"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConvertError, match="FancyNewForCausalLM"):
        converter.convert(d, tmp_path / "o.gguf", progress=False)


def test_missing_shard(hf_dir, tmp_path):
    d = _copy(hf_dir("llama_bf16"), tmp_path / "m")
    shard = sorted(d.glob("model-*.safetensors"))[1]
    shard.unlink()
    with pytest.raises(ConvertError, match=shard.name):
        converter.convert(d, tmp_path / "o.gguf", progress=False)
    assert not (tmp_path / "o.gguf").exists()


def test_shape_mismatch(hf_dir, tmp_path):
    d = _copy(hf_dir("llama"), tmp_path / "m")
    cfg = _config(d)
    cfg["num_key_value_heads"] = 4
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConvertError, match="k_proj.*shape"):
        converter.convert(d, tmp_path / "o.gguf", progress=False)


def test_unknown_tokenizer_type(hf_dir, tmp_path):
    d = _copy(hf_dir("llama"), tmp_path / "m")
    tok = json.loads((d / "tokenizer.json").read_text())
    tok["model"]["type"] = "WordPiece"
    (d / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(ConvertError, match="WordPiece"):
        converter.convert(d, tmp_path / "o.gguf", progress=False)


def test_unrecognised_pre_tokenizer_needs_pre(hf_dir, tmp_path):
    d = _copy(hf_dir("llama"), tmp_path / "m")
    tok = json.loads((d / "tokenizer.json").read_text())
    tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\p{L}+|\s+|."
    (d / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(ConvertError, match="--pre"):
        converter.convert(d, tmp_path / "o.gguf", progress=False)
    converter.convert(d, tmp_path / "o.gguf", progress=False, pre="gpt2")
    assert llmrt_gguf_metadata(tmp_path / "o.gguf")["tokenizer.ggml.pre"] == "gpt2"
