"""config.json -> GGUF metadata: the writers most architectures share, mirroring what llama.cpp's
convert_hf_to_gguf.py writes (TextModel.set_gguf_parameters and its per-model overrides). An
architecture's file picks one or composes its own from these (HFConversion.metadata)."""

from __future__ import annotations

from ..errors import ConvertError


def gguf_module():
    import gguf

    return gguf


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


def first(cfg: dict, *keys, default=None):
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return default


def write_rope_scaling(w, params: dict) -> None:
    rtype, factor = params.get("rope_type"), params.get("factor")
    if rtype == "linear" and factor is not None:
        w.add_rope_scaling_type(gguf_module().RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(factor)
    elif rtype == "llama3":
        pass  # written as the rope_freqs.weight tensor (llama3_rope_factors), as llama.cpp does
    elif rtype == "yarn" and factor is not None:
        w.add_rope_scaling_type(gguf_module().RopeScalingType.YARN)
        w.add_rope_scaling_factor(factor)
        w.add_rope_scaling_orig_ctx_len(params["original_max_position_embeddings"])
    elif rtype not in (None, "default"):
        # a scaling written nowhere would make the file run with plain RoPE: silently wrong
        raise ConvertError(f"RoPE scaling {rtype!r} is not supported by llmrt convert")


def write_block_shape(w, cfg: dict) -> None:
    """Width, depth, FFN size, heads and norm epsilon, as every llama.cpp text converter writes them."""
    n_head = cfg["num_attention_heads"]
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(cfg.get("num_key_value_heads") or n_head)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])


def base_metadata(w, cfg: dict) -> None:
    """The keys every text model gets (TextModel.set_gguf_parameters)."""
    w.add_block_count(cfg["num_hidden_layers"])
    if (n_ctx := first(cfg, "max_position_embeddings", "n_ctx", "n_positions")) is not None:
        w.add_context_length(n_ctx)
    w.add_embedding_length(cfg["hidden_size"])
    if (n_ff := cfg.get("intermediate_size")) is not None:
        w.add_feed_forward_length(n_ff)
    w.add_head_count(cfg["num_attention_heads"])
    if (n_kv := cfg.get("num_key_value_heads")) is not None:
        w.add_head_count_kv(n_kv)
    rp = rope_params(cfg)
    full = rp.get("full_attention", rp)
    write_rope_scaling(w, full)
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
