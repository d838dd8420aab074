"""qwen3moe: Qwen3 MoE models (GGUF general.architecture == "qwen3moe").

The qwen3 attention (per-head Q/K RMSNorm, no biases, NEOX RoPE, key_length may differ from
n_embd / n_head) with a MoE FFN: a softmax router picks expert_used_count experts whose
weights are renormalised (llama.cpp's qwen3moe graph; the released Qwen3-MoE configs set
norm_topk_prob). No shared expert.
"""

from .base import ACT_SILU, GATING_SOFTMAX, ROPE_NEOX, ArchSpec

QWEN3MOE = ArchSpec(
    name="qwen3moe",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_norm", "attn_k_norm"),
    expert_gating=GATING_SOFTMAX,
    expert_weights_norm=True,
    hf_names={
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
        "model.layers.{}.input_layernorm.weight": "blk.{}.attn_norm.weight",
        "model.layers.{}.self_attn.q_proj.weight": "blk.{}.attn_q.weight",
        "model.layers.{}.self_attn.k_proj.weight": "blk.{}.attn_k.weight",
        "model.layers.{}.self_attn.v_proj.weight": "blk.{}.attn_v.weight",
        "model.layers.{}.self_attn.q_norm.weight": "blk.{}.attn_q_norm.weight",
        "model.layers.{}.self_attn.k_norm.weight": "blk.{}.attn_k_norm.weight",
        "model.layers.{}.self_attn.o_proj.weight": "blk.{}.attn_output.weight",
        "model.layers.{}.post_attention_layernorm.weight": "blk.{}.ffn_norm.weight",
        "model.layers.{}.mlp.gate.weight": "blk.{}.ffn_gate_inp.weight",
        "model.layers.{}.mlp.experts.{x}.gate_proj.weight": "blk.{}.ffn_gate_exps.weight",
        "model.layers.{}.mlp.experts.{x}.up_proj.weight": "blk.{}.ffn_up_exps.weight",
        "model.layers.{}.mlp.experts.{x}.down_proj.weight": "blk.{}.ffn_down_exps.weight",
    },
)
