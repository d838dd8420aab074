"""llama: Llama 2/3, SmolLM, Mistral-style models (GGUF general.architecture == "llama").

Pre-norm RMSNorm blocks, SwiGLU FFN, RoPE on interleaved pairs (the converter permutes Q/K
into that order), grouped-query attention, an output head that may be tied to the embedding.
"""

from .base import ACT_SILU, ROPE_NORMAL, ArchSpec


def _llama_extras(md, hp):
    # Mistral-style GGUFs declare a sliding window for every layer.
    window = md.get("llama.attention.sliding_window")
    if window:
        hp["sliding_window"] = int(window)
        hp["layer_is_swa"] = [1] * hp["n_layer"]


LLAMA = ArchSpec(
    name="llama",
    rope_mode=ROPE_NORMAL,
    activation=ACT_SILU,
    customize=_llama_extras,
    hf_names={
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
        "model.layers.{}.input_layernorm.weight": "blk.{}.attn_norm.weight",
        "model.layers.{}.self_attn.q_proj.weight": "blk.{}.attn_q.weight",
        "model.layers.{}.self_attn.k_proj.weight": "blk.{}.attn_k.weight",
        "model.layers.{}.self_attn.v_proj.weight": "blk.{}.attn_v.weight",
        "model.layers.{}.self_attn.o_proj.weight": "blk.{}.attn_output.weight",
        "model.layers.{}.post_attention_layernorm.weight": "blk.{}.ffn_norm.weight",
        "model.layers.{}.mlp.gate_proj.weight": "blk.{}.ffn_gate.weight",
        "model.layers.{}.mlp.up_proj.weight": "blk.{}.ffn_up.weight",
        "model.layers.{}.mlp.down_proj.weight": "blk.{}.ffn_down.weight",
    },
)
