"""Tiny random Hugging Face checkpoints with tokenizers trained on the spot, for the converter
tests (test_convert.py, test_quantize.py). Everything is built in a temporary directory, on CPU,
in well under a second per model."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    "Once upon a time there was a little llama who lived on a mountain.",
    "The quick brown fox jumps over the lazy dog 1234567890 times!",
    "Hello, world. How are you doing today? I'm fine, thanks; and you?",
    "    indented code: def f(x): return x * 2  # comment\n\ttabs\n\nnewlines",
    "Ünïcödé text: naïve café, 東京, Привет мир, emojis 🦙🚀.",
    "Numbers 3.14159 and 2,718 and 1e-5; URLs like https://example.com/path?q=1.",
]
TEST_TEXTS = CORPUS + [
    "A sentence the tokenizer never saw: zebras quantize llamas.",
    "  leading spaces and trailing   ",
    "mixed\nlines\r\nand 'quotes' \"double\" I've you'll we'd",
]

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")

CHAT_TEMPLATE = ("{% for m in messages %}<|start|>{{ m['role'] }}\n{{ m['content'] }}<|end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|start|>assistant\n{% endif %}")


def train_bpe(out: Path, regex: str, bos: str | None, eos: str, vocab_size: int = 320) -> int:
    """A byte-level BPE tokenizer.json (+ tokenizer_config.json); returns its size."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = [t for t in (bos, eos, "<|start|>", "<|end|>") if t]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B:1", special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.save(str(out / "tokenizer.json"))
    cfg = {"bos_token": bos, "eos_token": eos, "chat_template": CHAT_TEMPLATE,
           "model_max_length": 128, "tokenizer_class": "PreTrainedTokenizerFast"}
    (out / "tokenizer_config.json").write_text(json.dumps(cfg))
    return tok.get_vocab_size()


def train_spm(out: Path, vocab_size: int = 400) -> int:
    """A Gemma-style SentencePiece tokenizer.model (BPE, byte fallback, no dummy prefix)."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 8), model_writer=buf, vocab_size=vocab_size, model_type="bpe",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, byte_fallback=True, add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity", split_digits=True,
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>"], hard_vocab_limit=False,
        minloglevel=2, character_coverage=1.0)
    (out / "tokenizer.model").write_bytes(buf.getvalue())
    cfg = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "add_bos_token": True,
           "add_eos_token": False, "chat_template": CHAT_TEMPLATE.replace("<|start|>", "<start_of_turn>")
           .replace("<|end|>", "<end_of_turn>")}
    (out / "tokenizer_config.json").write_text(json.dumps(cfg))
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    return sp.vocab_size()


def _randomize(model, seed: int) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:   # around the identity, but not equal to it (catches missed shifts)
                base = 0.0 if type(model).__name__.startswith("Gemma") else 1.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))


def make_model(out: Path, arch: str, hidden: int = 64, layers: int = 2, heads: int = 4, kv_heads: int = 2,
               ffn: int = 128, dtype: str = "float32", shard: str | None = None, tied: bool = False,
               seed: int = 0, vocab_pad: int = 3, n_expert: int = 4, n_expert_used: int = 2,
               ffn_exp: int = 32, ffn_shexp: int = 96, norm_topk_prob: bool | None = None,
               rope_scaling: dict | None = None, max_positions: int = 256) -> Path:
    """Build and save_pretrained a tiny random model with a tokenizer; returns the directory."""
    import torch
    import transformers as tf

    out.mkdir(parents=True, exist_ok=True)
    if arch in ("gemma2", "gemma3", "phi3"):   # Phi-3 ships Llama's SentencePiece model
        n_tok = train_spm(out)
        if arch == "phi3":   # llama.cpp's converter reads the class to tell Phi-3 from Phi-4
            cfg_path = out / "tokenizer_config.json"
            cfg_path.write_text(json.dumps({**json.loads(cfg_path.read_text()), "tokenizer_class": "LlamaTokenizer"}))
    elif arch in ("qwen2", "qwen3", "qwen2moe", "qwen3moe"):
        n_tok = train_bpe(out, QWEN2_REGEX, None, "<|endoftext|>")
    else:
        n_tok = train_bpe(out, LLAMA3_REGEX, "<|begin_of_text|>", "<|end_of_text|>")
    common = dict(vocab_size=n_tok + vocab_pad, hidden_size=hidden, intermediate_size=ffn,
                  num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                  max_position_embeddings=max_positions, rms_norm_eps=1e-5, tie_word_embeddings=tied,
                  rope_scaling=rope_scaling)
    if arch == "llama":
        cfg = tf.LlamaConfig(**common, rope_theta=10000.0, bos_token_id=0, eos_token_id=1)
        cls = tf.LlamaForCausalLM
    elif arch == "mistral":
        cfg = tf.MistralConfig(**common, rope_theta=10000.0, sliding_window=None, bos_token_id=0, eos_token_id=1)
        cls = tf.MistralForCausalLM
    elif arch == "qwen2":
        cfg = tf.Qwen2Config(**common, rope_theta=1000000.0)
        cls = tf.Qwen2ForCausalLM
    elif arch == "qwen3":
        cfg = tf.Qwen3Config(**common, head_dim=hidden // heads, rope_theta=1000000.0)
        cls = tf.Qwen3ForCausalLM
    elif arch == "mixtral":   # experts of width `ffn` (intermediate_size)
        cfg = tf.MixtralConfig(**common, rope_theta=10000.0, sliding_window=None, bos_token_id=0, eos_token_id=1,
                               num_local_experts=n_expert, num_experts_per_tok=n_expert_used)
        cls = tf.MixtralForCausalLM
    elif arch == "qwen2moe":
        cfg = tf.Qwen2MoeConfig(**common, rope_theta=1000000.0, num_experts=n_expert,
                                num_experts_per_tok=n_expert_used, moe_intermediate_size=ffn_exp,
                                shared_expert_intermediate_size=ffn_shexp,
                                norm_topk_prob=bool(norm_topk_prob), qkv_bias=True)
        cls = tf.Qwen2MoeForCausalLM
    elif arch == "qwen3moe":
        cfg = tf.Qwen3MoeConfig(**common, head_dim=hidden // heads, rope_theta=1000000.0, num_experts=n_expert,
                                num_experts_per_tok=n_expert_used, moe_intermediate_size=ffn_exp,
                                norm_topk_prob=True if norm_topk_prob is None else norm_topk_prob)
        cls = tf.Qwen3MoeForCausalLM
    elif arch == "phi3":
        cfg = tf.Phi3Config(**common, rope_theta=10000.0, bos_token_id=0, eos_token_id=1, pad_token_id=1,
                            sliding_window=None,
                            original_max_position_embeddings=(rope_scaling or {}).get(
                                "original_max_position_embeddings", max_positions))
        cls = tf.Phi3ForCausalLM
    elif arch == "gemma2":   # small soft-caps, so that random logits reach them
        head_dim = hidden // heads
        cfg = tf.Gemma2Config(**{**common, "rms_norm_eps": 1e-6}, head_dim=head_dim, query_pre_attn_scalar=head_dim,
                              sliding_window=4, attn_logit_softcapping=5.0, final_logit_softcapping=3.0,
                              hidden_activation="gelu_pytorch_tanh", attn_implementation="eager")
        cls = tf.Gemma2ForCausalLM
    elif arch == "gemma3":
        head_dim = hidden // heads
        cfg = tf.Gemma3TextConfig(**{**common, "rms_norm_eps": 1e-6}, head_dim=head_dim,
                                  query_pre_attn_scalar=head_dim, sliding_window=4,
                                  hidden_activation="gelu_pytorch_tanh")
        cls = tf.Gemma3ForCausalLM
    else:
        raise ValueError(arch)
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    _randomize(model, seed)
    if dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(out, safe_serialization=True, **kw)
    return out


def hf_logits(model_dir: Path, ids: list[int]):
    import torch
    import transformers as tf

    model = tf.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()
