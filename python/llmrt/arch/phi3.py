"""phi3: Phi-3 / Phi-3.5 / Phi-4 (GGUF general.architecture == "phi3").

A llama-style block whose Q, K and V come from one fused matrix (attn_qkv) and whose FFN gate
and up halves come from one (ffn_up, 2 x feed_forward_length rows, gate first); the native loader
takes both apart without copying. NEOX RoPE. Long-context models carry LongRoPE's two sets of
per-frequency divisors: the long set when the context is longer than the original one, as
llama.cpp decides (transformers decides per call by the sequence length, the same choice for a
sequence that long), and cos/sin scaled by rope.scaling.attn_factor. A sliding window, where the
file has one, applies to every layer, as in transformers (llama.cpp currently ignores it).
"""

from .base import ACT_SILU, ArchSpec, ROPE_NEOX
from .metadata_values import MetadataValues


def _phi3_extras(md, hp):
    v = MetadataValues("phi3", md)
    hp["rope_mscale"] = v.real("rope.scaling.attn_factor", 1.0, positive=True)
    window = v.integer("attention.sliding_window", 0)
    if window:
        hp["sliding_window"] = window
        hp["layer_is_swa"] = [1] * hp["n_layer"]


def _rope_factors(md, n_ctx: int) -> str:
    orig = md.get("phi3.rope.scaling.original_context_length") or md.get("phi3.context_length") or 0
    return "rope_factors_long.weight" if n_ctx > int(orig) else "rope_factors_short.weight"


PHI3 = ArchSpec(
    name="phi3",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    customize=_phi3_extras,
    base_roles=("token_embd", "output_norm", "attn_norm", "attn_qkv", "attn_output", "ffn_norm"),
    dense_roles=("ffn_up", "ffn_down"),
    rope_freqs_for=_rope_factors,
    hf_names={
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
        "model.layers.{}.input_layernorm.weight": "blk.{}.attn_norm.weight",
        "model.layers.{}.self_attn.qkv_proj.weight": "blk.{}.attn_qkv.weight",
        "model.layers.{}.self_attn.o_proj.weight": "blk.{}.attn_output.weight",
        "model.layers.{}.post_attention_layernorm.weight": "blk.{}.ffn_norm.weight",
        "model.layers.{}.mlp.gate_up_proj.weight": "blk.{}.ffn_up.weight",
        "model.layers.{}.mlp.down_proj.weight": "blk.{}.ffn_down.weight",
    },
)
