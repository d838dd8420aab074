"""phi3: Phi-3 / Phi-3.5 / Phi-4 (GGUF general.architecture == "phi3").

A llama-style block whose Q, K and V come from one fused matrix (attn_qkv) and whose FFN gate
and up halves come from one (ffn_up, 2 x feed_forward_length rows, gate first); the native loader
takes both apart without copying. NEOX RoPE. Long-context models carry LongRoPE's two sets of
per-frequency divisors: the long set when the context is longer than the original one, as
llama.cpp decides (transformers decides per call by the sequence length, the same choice for a
sequence that long), and cos/sin scaled by rope.scaling.attn_factor. A sliding window, where the
file has one, applies to every layer, as in transformers (llama.cpp currently ignores it).
"""

import math

from ..errors import ConvertError
from .base import ACT_SILU, ArchSpec, ROPE_NEOX
from .conversion import HFConversion
from .hf_metadata import rope_params, write_block_shape
from .hf_rope_factors import longrope_factors
from .metadata_values import MetadataValues
from .registry import register


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


def phi3_metadata(w, cfg: dict) -> None:
    """What llama.cpp's Phi3MiniModel writes, LongRoPE's attention factor included."""
    rp = rope_params(cfg)
    n_head = cfg["num_attention_heads"]
    max_pos = cfg["max_position_embeddings"]
    orig = rp.get("original_max_position_embeddings", cfg.get("original_max_position_embeddings", max_pos))
    w.add_context_length(max_pos)
    w.add_rope_scaling_orig_ctx_len(orig)
    write_block_shape(w, cfg)
    w.add_rope_dimension_count(int(rp.get("partial_rotary_factor", 1.0) * cfg["hidden_size"]) // n_head)
    w.add_rope_freq_base(rp.get("rope_theta", 10000.0))
    w.add_sliding_window(cfg.get("sliding_window") or 0)
    if rp.get("rope_type") not in (None, "default", "longrope", "su"):
        raise ConvertError(f"phi3: RoPE scaling {rp.get('rope_type')!r} is not supported by llmrt convert")
    if longrope_factors(cfg):
        scale = max_pos / orig
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(orig)) if scale > 1 else 1.0)


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
    convert=HFConversion(("Phi3ForCausalLM",), phi3_metadata),
)
register(PHI3)
