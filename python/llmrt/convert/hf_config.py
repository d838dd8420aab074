"""config.json -> GGUF metadata and per-architecture conversion rules.

One ConvertArch per Hugging Face architecture name (config.json "architectures"): the GGUF
architecture it becomes, its tensor-name table (from the ArchSpec where it has one), whether
Q/K rows are permuted (llama's rotate-half -> interleaved pairs), Gemma's norm +1, which
tokenizer file comes first, and the metadata keys llama.cpp's converter writes for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..arch.gemma2 import GEMMA2
from ..arch.gemma3 import GEMMA3
from ..arch.llama import LLAMA
from ..arch.mixtral import MIXTRAL
from ..arch.phi3 import PHI3
from ..arch.qwen2 import QWEN2
from ..arch.qwen2moe import QWEN2MOE
from ..arch.qwen3 import QWEN3
from ..arch.qwen3moe import QWEN3MOE
from .errors import ConvertError


def load_config(model_dir: str | Path) -> dict:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ConvertError(f"{model_dir}: no config.json (is this a Hugging Face checkpoint directory?)")
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if "text_config" in cfg:  # multimodal wrappers: the language model's settings at the top
        cfg = {**cfg, **cfg["text_config"]}
    return cfg


def rope_params(cfg: dict) -> dict:
    """transformers >= 5 writes `rope_parameters`; older configs `rope_theta` + `rope_scaling`."""
    rp = dict(cfg.get("rope_parameters") or cfg.get("rope_scaling") or {})
    if "full_attention" not in rp and "sliding_attention" not in rp:
        if "rope_theta" not in rp and cfg.get("rope_theta") is not None:
            rp["rope_theta"] = cfg["rope_theta"]
        if "rope_type" not in rp and rp.get("type") is not None:
            rp["rope_type"] = rp["type"]
        local = cfg.get("rope_local_base_freq")
        if local is not None:
            rp["sliding_attention"] = {"rope_theta": local}
    return rp


def _first(cfg: dict, *keys, default=None):
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return default


def _rope_scaling(w, params: dict) -> None:
    rtype, factor = params.get("rope_type"), params.get("factor")
    if rtype == "linear" and factor is not None:
        w.add_rope_scaling_type(_gguf().RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(factor)
    elif rtype == "llama3":
        pass  # written as the rope_freqs.weight tensor (llama3_rope_factors), as llama.cpp does
    elif rtype == "yarn" and factor is not None:
        w.add_rope_scaling_type(_gguf().RopeScalingType.YARN)
        w.add_rope_scaling_factor(factor)
        w.add_rope_scaling_orig_ctx_len(params["original_max_position_embeddings"])
    elif rtype not in (None, "default"):
        # a scaling written nowhere would make the file run with plain RoPE: silently wrong
        raise ConvertError(f"RoPE scaling {rtype!r} is not supported by llmrt convert")


def llama3_rope_factors(cfg: dict):
    """Llama 3's long-context RoPE as per-frequency divisors (rope_freqs.weight, n_rot / 2
    float32), or None when the config has no llama3 scaling. Frequencies whose wavelength fits
    the original context many times keep their value, those longer than it are divided by
    `factor`, and the band between is interpolated."""
    import numpy as np

    rp = rope_params(cfg)
    rp = rp.get("full_attention", rp)
    if rp.get("rope_type") != "llama3":
        return None
    factor = float(rp["factor"])
    low, high = float(rp.get("low_freq_factor", 1.0)), float(rp.get("high_freq_factor", 4.0))
    old_ctx = float(rp["original_max_position_embeddings"])
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    freqs = 1.0 / float(rp.get("rope_theta", 10000.0)) ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    wavelen = 2 * np.pi / freqs
    smooth = (old_ctx / wavelen - low) / (high - low)
    out = np.where(wavelen < old_ctx / high, 1.0,
                   np.where(wavelen > old_ctx / low, factor, 1.0 / ((1 - smooth) / factor + smooth)))
    return out.astype(np.float32)


def _block_shape(w, cfg: dict) -> None:
    """Width, depth, FFN size, heads and norm epsilon, as every llama.cpp text converter writes them."""
    n_head = cfg["num_attention_heads"]
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(cfg.get("num_key_value_heads") or n_head)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])


def longrope_factors(cfg: dict) -> dict:
    """Phi-3's LongRoPE divisors as the rope_factors_long/short tensors (n_rot / 2 each), as
    llama.cpp's converter writes them; {} without long-context scaling."""
    import numpy as np

    rp = rope_params(cfg)
    if rp.get("rope_type") not in ("longrope", "su") or not rp.get("long_factor"):
        return {}
    n_rot = int(rp.get("partial_rotary_factor", 1.0) * cfg["hidden_size"]) // cfg["num_attention_heads"]
    long, short = (np.asarray(rp[k], np.float32) for k in ("long_factor", "short_factor"))
    if long.shape != (n_rot // 2,) or short.shape != (n_rot // 2,):
        raise ConvertError(f"LongRoPE factors must have {n_rot // 2} values each")
    return {"rope_factors_long.weight": long, "rope_factors_short.weight": short}


def generated_tensors(cfg: dict) -> dict:
    """Tensors the converter computes from config.json rather than copies: RoPE divisors."""
    out = longrope_factors(cfg)
    factors = llama3_rope_factors(cfg)
    if factors is not None:
        out["rope_freqs.weight"] = factors
    return out


def phi3_metadata(w, cfg: dict) -> None:
    """What llama.cpp's Phi3MiniModel writes, LongRoPE's attention factor included."""
    import math

    rp = rope_params(cfg)
    n_head = cfg["num_attention_heads"]
    max_pos = cfg["max_position_embeddings"]
    orig = rp.get("original_max_position_embeddings", cfg.get("original_max_position_embeddings", max_pos))
    w.add_context_length(max_pos)
    w.add_rope_scaling_orig_ctx_len(orig)
    _block_shape(w, cfg)
    w.add_rope_dimension_count(int(rp.get("partial_rotary_factor", 1.0) * cfg["hidden_size"]) // n_head)
    w.add_rope_freq_base(rp.get("rope_theta", 10000.0))
    w.add_sliding_window(cfg.get("sliding_window") or 0)
    if rp.get("rope_type") not in (None, "default", "longrope", "su"):
        raise ConvertError(f"phi3: RoPE scaling {rp.get('rope_type')!r} is not supported by llmrt convert")
    if longrope_factors(cfg):
        scale = max_pos / orig
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(orig)) if scale > 1 else 1.0)


def _gguf():
    import gguf

    return gguf


def base_metadata(w, cfg: dict) -> None:
    """The keys every text model gets (TextModel.set_gguf_parameters)."""
    w.add_block_count(cfg["num_hidden_layers"])
    if (n_ctx := _first(cfg, "max_position_embeddings", "n_ctx", "n_positions")) is not None:
        w.add_context_length(n_ctx)
    w.add_embedding_length(cfg["hidden_size"])
    if (n_ff := cfg.get("intermediate_size")) is not None:
        w.add_feed_forward_length(n_ff)
    w.add_head_count(cfg["num_attention_heads"])
    if (n_kv := cfg.get("num_key_value_heads")) is not None:
        w.add_head_count_kv(n_kv)
    rp = rope_params(cfg)
    full = rp.get("full_attention", rp)
    _rope_scaling(w, full)
    if (theta := full.get("rope_theta")) is not None:
        w.add_rope_freq_base(theta)
    if (theta_swa := rp.get("sliding_attention", {}).get("rope_theta")) is not None:
        w.add_rope_freq_base_swa(theta_swa)
    if (eps := cfg.get("rms_norm_eps")) is not None:
        w.add_layer_norm_rms_eps(eps)
    if (head_dim := cfg.get("head_dim")) is not None:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)


def llama_metadata(w, cfg: dict) -> None:
    base_metadata(w, cfg)
    w.add_vocab_size(cfg["vocab_size"])
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    w.add_rope_dimension_count(head_dim)


def moe_metadata(w, cfg: dict, arch_default_norm: bool | None = None) -> None:
    """expert_count / expert_used_count (TextModel), expert_feed_forward_length and
    expert_shared_feed_forward_length (Qwen2MoeModel). llama.cpp hard-codes the weight
    renormalisation per architecture; a config that disagrees gets expert_weights_norm, which
    llmrt reads (llama.cpp does not for these architectures)."""
    if cfg.get("mlp_only_layers") or cfg.get("decoder_sparse_step", 1) not in (None, 1):
        raise ConvertError("MoE models with dense layers between the sparse ones "
                           "(mlp_only_layers / decoder_sparse_step) are not supported yet")
    n_expert = cfg.get("num_local_experts") or cfg.get("num_experts")
    if not n_expert or not cfg.get("num_experts_per_tok"):
        raise ConvertError("MoE config without num_experts / num_experts_per_tok")
    w.add_expert_count(n_expert)
    w.add_expert_used_count(cfg["num_experts_per_tok"])
    if (n_ff_exp := cfg.get("moe_intermediate_size")) is not None:
        w.add_expert_feed_forward_length(n_ff_exp)
    if (n_ff_shexp := cfg.get("shared_expert_intermediate_size")) is not None:
        w.add_expert_shared_feed_forward_length(n_ff_shexp)
    norm = cfg.get("norm_topk_prob")
    if arch_default_norm is not None and norm is not None and bool(norm) != arch_default_norm:
        w.add_expert_weights_norm(bool(norm))


def mixtral_metadata(w, cfg: dict) -> None:
    llama_metadata(w, cfg)
    moe_metadata(w, cfg)


def qwen2moe_metadata(w, cfg: dict) -> None:
    base_metadata(w, cfg)
    moe_metadata(w, cfg, QWEN2MOE.expert_weights_norm)


def qwen3moe_metadata(w, cfg: dict) -> None:
    base_metadata(w, cfg)
    moe_metadata(w, cfg, QWEN3MOE.expert_weights_norm)


def gemma3_default_swa(n_layer: int) -> list[bool]:
    return [il % 6 < 5 for il in range(n_layer)]


def gemma3_metadata(w, cfg: dict) -> None:
    gguf = _gguf()
    w.add_context_length(cfg.get("max_position_embeddings", 131072))
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg.get("num_attention_heads", 8))
    w.add_layer_norm_rms_eps(cfg.get("rms_norm_eps", 1e-6))
    w.add_key_length(cfg.get("head_dim", 256))
    w.add_value_length(cfg.get("head_dim", 256))
    rp = rope_params(cfg)
    full = rp.get("full_attention", rp)
    w.add_rope_freq_base(full.get("rope_theta", 1_000_000.0))
    if (theta_swa := rp.get("sliding_attention", {}).get("rope_theta")) is not None:
        w.add_rope_freq_base_swa(theta_swa)
    if cfg.get("attn_logit_softcapping") is not None:
        raise ConvertError("gemma3: attn_logit_softcapping is set, but Gemma 3 has none")
    if cfg.get("final_logit_softcapping"):
        w.add_final_logit_softcapping(cfg["final_logit_softcapping"])
    w.add_sliding_window(cfg["sliding_window"])
    # llama.cpp assumes five local layers then one global; a config that says otherwise gets
    # the explicit per-layer pattern (which llmrt's gemma3 ArchSpec reads).
    types = cfg.get("layer_types")
    if types:
        pattern = [t == "sliding_attention" for t in types]
        if pattern != gemma3_default_swa(len(pattern)):
            w.add_sliding_window_pattern(pattern)
    w.add_head_count_kv(cfg.get("num_key_value_heads", 4))
    if full.get("rope_type") == "linear" and full.get("factor") is not None:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(full["factor"])


def gemma2_metadata(w, cfg: dict) -> None:
    """What llama.cpp's Gemma2Model writes: no RoPE base (10000 is the default), both
    soft-capping values, the window; the 2:1 alternation is implied."""
    n_head = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    scalar = cfg.get("query_pre_attn_scalar", head_dim)
    if scalar not in (head_dim, cfg["hidden_size"] // n_head):
        raise ConvertError(f"gemma2: query_pre_attn_scalar {scalar} is neither head_dim nor hidden/heads")
    w.add_context_length(cfg["max_position_embeddings"])
    _block_shape(w, cfg)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_attn_logit_softcapping(cfg["attn_logit_softcapping"])
    w.add_final_logit_softcapping(cfg["final_logit_softcapping"])
    w.add_sliding_window(cfg["sliding_window"])
    theta = rope_params(cfg).get("rope_theta", 10000.0)
    if theta != 10000.0:
        w.add_rope_freq_base(theta)


@dataclass(frozen=True)
class ConvertArch:
    gguf_arch: str
    hf_names: dict
    metadata: Callable
    permute_qk: bool = False      # llama: HF rotate-half Q/K rows -> interleaved pairs
    norm_shift: float = 0.0       # gemma: RMSNorm multiplies by (1 + w); fold the 1 in
    vocab_prefer: str = "spm"     # which tokenizer file wins when both exist
    truncate_embd: bool = False   # gemma3: drop embedding rows past the vocabulary


_LLAMA_CONVERT = ConvertArch("llama", dict(LLAMA.hf_names), llama_metadata, permute_qk=True)

ARCHS: dict[str, ConvertArch] = {
    "LlamaForCausalLM": _LLAMA_CONVERT,
    "MistralForCausalLM": _LLAMA_CONVERT,      # llama.cpp converts Mistral to arch "llama"
    "MixtralForCausalLM": ConvertArch("llama", dict(MIXTRAL.hf_names), mixtral_metadata, permute_qk=True),
    "Qwen2MoeForCausalLM": ConvertArch("qwen2moe", dict(QWEN2MOE.hf_names), qwen2moe_metadata, vocab_prefer="bpe"),
    "Qwen3MoeForCausalLM": ConvertArch("qwen3moe", dict(QWEN3MOE.hf_names), qwen3moe_metadata, vocab_prefer="bpe"),
    "Qwen2ForCausalLM": ConvertArch("qwen2", dict(QWEN2.hf_names), base_metadata, vocab_prefer="bpe"),
    "Qwen3ForCausalLM": ConvertArch("qwen3", dict(QWEN3.hf_names), base_metadata, vocab_prefer="bpe"),
    "Phi3ForCausalLM": ConvertArch("phi3", dict(PHI3.hf_names), phi3_metadata),
    "Gemma2ForCausalLM": ConvertArch("gemma2", dict(GEMMA2.hf_names), gemma2_metadata, norm_shift=1.0),
    "Gemma3ForCausalLM": ConvertArch("gemma3", dict(GEMMA3.hf_names), gemma3_metadata,
                                     norm_shift=1.0, truncate_embd=True),
    "Gemma3ForConditionalGeneration": ConvertArch("gemma3", dict(GEMMA3.hf_names), gemma3_metadata,
                                                  norm_shift=1.0, truncate_embd=True),
}


def lookup(cfg: dict) -> tuple[str, ConvertArch]:
    names = cfg.get("architectures") or []
    for n in names:
        if n in ARCHS:
            return n, ARCHS[n]
    raise ConvertError(f"architecture {', '.join(names) or '(none in config.json)'} is not "
                       f"supported by llmrt convert (supported: {', '.join(sorted(ARCHS))})")


def normalize_hf_name(name: str) -> str | None:
    """Strip multimodal wrappers' prefixes; None for tensors of other towers (vision, audio)."""
    for prefix in ("model.language_model.", "language_model.model."):
        if name.startswith(prefix):
            return "model." + name[len(prefix):]
    if name.startswith("language_model.lm_head."):
        return name[len("language_model."):]
    if name.startswith(("vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                        "model.multi_modal_projector.", "vision_model.", "multimodal_projector.")):
        return None
    return name
