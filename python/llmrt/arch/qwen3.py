"""qwen3: Qwen 3 dense models (GGUF general.architecture == "qwen3").

A llama block without biases whose Q and K are RMS-normed per head before RoPE
(attn_q_norm / attn_k_norm, one weight of head_dim shared by all heads); NEOX RoPE (no Q/K
permutation in the converter). The head width comes from attention.key_length and may differ
from n_embd / n_head. The output head may be tied to the embedding.
"""

from .base import ACT_SILU, ROPE_NEOX, ArchSpec

QWEN3 = ArchSpec(
    name="qwen3",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_norm", "attn_k_norm"),
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
        "model.layers.{}.mlp.gate_proj.weight": "blk.{}.ffn_gate.weight",
        "model.layers.{}.mlp.up_proj.weight": "blk.{}.ffn_up.weight",
        "model.layers.{}.mlp.down_proj.weight": "blk.{}.ffn_down.weight",
    },
)
