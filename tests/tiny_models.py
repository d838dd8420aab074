"""Tiny random-weight Hugging Face models written to F32 GGUF files, for architecture tests.

Each builder makes a `transformers` model from a small config, randomizes every parameter
(HF's default init makes norms exactly 1 and attention almost uniform, which would hide bugs),
and writes it to GGUF the way llama.cpp's convert_hf_to_gguf.py would for that architecture:
  - llama (Mistral-style): Q/K rows permuted so that "normal" (interleaved) RoPE reproduces
    HF's rotate-half RoPE; qwen2/qwen3/gemma3 keep HF's order and run NEOX RoPE;
  - gemma3: every norm weight stored as weight + 1 (HF's Gemma RMSNorm multiplies by 1 + w);
  - a minimal gpt2-style vocabulary (byte tokens, then filler tokens): the tests feed token ids.
Tensor names come from the ArchSpec's hf_names table (python/llmrt/arch/), the same table the
converter reads. This is a test helper; the conversion tool generalises it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERAL_KEYS = ("context_length", "embedding_length", "block_count", "feed_forward_length",
                "attention.head_count", "attention.head_count_kv", "attention.key_length",
                "attention.value_length", "attention.layer_norm_rms_epsilon", "rope.freq_base")


@dataclass
class TinyModel:
    """A tiny HF model and the GGUF file written from it."""

    arch: str          # GGUF general.architecture
    hf_model: object   # transformers PreTrainedModel (float32, eval mode)
    path: Path
    sliding_window: int = 0

    def hf_logits(self, ids) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.hf_model(torch.tensor([list(ids)], dtype=torch.long))
        return out.logits[0].float().numpy()


# ---- building the HF models -------------------------------------------------------------------

def _randomize(model, seed: int, gemma_norms: bool) -> None:
    """Weights ~ N(0, 1/n_in) so activations keep unit scale; embeddings N(0, 1); norm weights
    around their neutral value (1, or 0 for Gemma's 1 + w); biases N(0, 0.5)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "norm" in name:
                p.copy_((0.0 if gemma_norms else 1.0) + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.5 * noise)
            elif "embed_tokens" in name:
                p.copy_(noise)
            else:
                p.copy_(noise / np.sqrt(p.shape[-1]))


def _hf_model(config, seed: int, gemma_norms: bool = False):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    _randomize(model, seed, gemma_norms)
    return model.eval()


COMMON = dict(vocab_size=320, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
              pad_token_id=0)


def mistral_config(sliding_window=16):
    from transformers import MistralConfig

    return MistralConfig(**COMMON, head_dim=24, sliding_window=sliding_window,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0})


def qwen2_config():
    from transformers import Qwen2Config

    return Qwen2Config(**{**COMMON, "tie_word_embeddings": True},
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})


def qwen3_config():
    from transformers import Qwen3Config

    # head_dim * n_head (128) != hidden_size (64): the GGUF's key_length must be honoured
    return Qwen3Config(**COMMON, head_dim=32, attention_bias=False,
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})


def gemma3_config(sliding_window=8, final_softcap=3.0, attn_softcap=None):
    from transformers import Gemma3TextConfig

    n_layer = 6  # five local layers, then one global: the default pattern
    return Gemma3TextConfig(
        **{**COMMON, "num_hidden_layers": n_layer, "tie_word_embeddings": True}, head_dim=16,
        query_pre_attn_scalar=16, sliding_window=sliding_window,
        layer_types=["sliding_attention" if il % 6 < 5 else "full_attention" for il in range(n_layer)],
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        final_logit_softcapping=final_softcap, attn_logit_softcapping=attn_softcap,
        hidden_activation="gelu_pytorch_tanh")


# ---- writing GGUF -----------------------------------------------------------------------------

def _permute_for_normal_rope(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's permute(): per head, interleave the two rotate-half halves."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def _byte_tokens() -> list[str]:
    """GPT-2's byte -> printable character table (bytes_to_unicode)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def _write_vocab(w, n_vocab: int) -> None:
    tokens = _byte_tokens() + [f"<|tok{i}|>" for i in range(256, n_vocab)]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens[:n_vocab])
    w.add_token_types([1] * n_vocab)
    w.add_token_merges([])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def _hf_to_gguf_name(spec, hf_name: str) -> str:
    for hf_tmpl, gguf_tmpl in spec.hf_names.items():
        if "{}" not in hf_tmpl:
            if hf_tmpl == hf_name:
                return gguf_tmpl
            continue
        prefix, suffix = hf_tmpl.split("{}")
        if hf_name.startswith(prefix) and hf_name.endswith(suffix):
            layer = hf_name[len(prefix):len(hf_name) - len(suffix)]
            if layer.isdigit():
                return gguf_tmpl.format(layer)
    raise KeyError(f"{spec.name}: no GGUF name for HF tensor {hf_name!r}")


def write_gguf(model, arch: str, path: Path, skip=(), sliding_window: int | None = None) -> Path:
    """Write an HF model as an F32 GGUF of architecture `arch`. `skip` drops tensors by GGUF
    name (tests of missing tensors); `sliding_window` overrides the config's window."""
    import gguf

    from llmrt import arch as archs

    spec = archs.lookup(arch)
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    rope = cfg.rope_parameters
    global_rope = rope.get("full_attention", rope)
    w.add_rope_freq_base(float(global_rope["rope_theta"]))
    if global_rope.get("rope_type") == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(global_rope["factor"]))
    if arch == "llama":
        w.add_rope_dimension_count(head_dim)
    window = sliding_window or getattr(cfg, "sliding_window", None)
    if window and arch in ("llama", "gemma3"):
        w.add_sliding_window(int(window))
    for cap in ("attn_logit_softcapping", "final_logit_softcapping"):
        if getattr(cfg, cap, None):
            w.add_float32(f"{arch}.{cap}", float(getattr(cfg, cap)))
    _write_vocab(w, cfg.vocab_size)

    tied = getattr(cfg, "tie_word_embeddings", False)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and tied:
            continue
        name = _hf_to_gguf_name(spec, hf_name)
        if name in skip:
            continue
        data = tensor.detach().float().numpy().copy()
        if arch == "gemma3" and name.endswith("norm.weight"):
            data = data + 1.0
        if arch == "llama" and ".attn_q." in name:
            data = _permute_for_normal_rope(data, cfg.num_attention_heads)
        elif arch == "llama" and ".attn_k." in name:
            data = _permute_for_normal_rope(data, cfg.num_key_value_heads)
        w.add_tensor(name, data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


BUILDERS = {
    # name: (GGUF architecture, config factory, gemma-style norms)
    "mistral": ("llama", mistral_config, False),
    "qwen2": ("qwen2", qwen2_config, False),
    "qwen3": ("qwen3", qwen3_config, False),
    "gemma3": ("gemma3", gemma3_config, True),
}


def build(name: str, directory: Path, seed: int = 0, **config_kwargs) -> TinyModel:
    arch, make_config, gemma_norms = BUILDERS[name]
    config = make_config(**config_kwargs)
    model = _hf_model(config, seed, gemma_norms)
    path = write_gguf(model, arch, Path(directory) / f"tiny-{name}.gguf")
    return TinyModel(arch, model, path, int(getattr(config, "sliding_window", 0) or 0))
