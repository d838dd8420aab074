"""gemma2: Gemma 2 (GGUF general.architecture == "gemma2").

Gemma 3's block without the per-head Q/K norms, plus what Gemma 3 dropped:
  - attention logits soft-capped (attn_logit_softcapping, 50 in the released models) and the
    final logits too (final_logit_softcapping, 30);
  - local and global layers alternating (every other layer slides, window 4096 unless the
    metadata says otherwise), one RoPE base for both;
  - queries scaled by 1/sqrt(head_dim), except in the 46-layer (27B) model, which uses
    1/sqrt(n_embd / n_head) (its query_pre_attn_scalar), as llama.cpp decides by layer count;
  - sandwich norms, GELU (tanh) gated FFN, NEOX RoPE, embeddings scaled by sqrt(n_embd), output
    tied to the embedding, norm weights with Gemma's +1 folded in by the converter.
"""

from ..errors import ConvertError
from .base import ACT_GELU_TANH, QK_NORM_HF_NAMES, ArchSpec, ROPE_NEOX, sqrt_embd_scale
from .conversion import HFConversion, RandomModel
from .gemma3 import GEMMA3, GEMMA_CONVERSION, gemma_random_config
from .hf_metadata import rope_params, write_block_shape
from .metadata_values import MetadataValues
from .registry import register
from .shape import Shape
from .sliding_window import set_sliding_layers

SWA_PERIOD = 2
DEFAULT_WINDOW = 4096
LAYERS_27B = 46


def _gemma2_extras(md, hp):
    sqrt_embd_scale(md, hp)
    v = MetadataValues("gemma2", md)
    per_head = hp["n_embd"] // hp["n_head"] if hp["n_layer"] == LAYERS_27B else hp["head_dim_k"]
    hp["attn_scale"] = per_head ** -0.5
    set_sliding_layers(v, hp, SWA_PERIOD, DEFAULT_WINDOW)


def gemma2_metadata(w, cfg: dict) -> None:
    """What llama.cpp's Gemma2Model writes: no RoPE base (10000 is the default), both
    soft-capping values, the window; the 2:1 alternation is implied."""
    n_head = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    scalar = cfg.get("query_pre_attn_scalar", head_dim)
    if scalar not in (head_dim, cfg["hidden_size"] // n_head):
        raise ConvertError(f"gemma2: query_pre_attn_scalar {scalar} is neither head_dim nor hidden/heads")
    w.add_context_length(cfg["max_position_embeddings"])
    write_block_shape(w, cfg)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_attn_logit_softcapping(cfg["attn_logit_softcapping"])
    w.add_final_logit_softcapping(cfg["final_logit_softcapping"])
    w.add_sliding_window(cfg["sliding_window"])
    theta = rope_params(cfg).get("rope_theta", 10000.0)
    if theta != 10000.0:
        w.add_rope_freq_base(theta)


def _random_config(s: Shape, cfg: dict) -> None:
    gemma_random_config(s, cfg)
    cfg.update(attn_logit_softcapping=50.0, final_logit_softcapping=30.0)


GEMMA2 = ArchSpec(
    name="gemma2",
    rope_mode=ROPE_NEOX,
    activation=ACT_GELU_TANH,
    extra_required=("post_attention_norm", "post_ffw_norm"),
    customize=_gemma2_extras,
    hf_names={k: v for k, v in GEMMA3.hf_names.items() if k not in QK_NORM_HF_NAMES},
    convert=HFConversion(("Gemma2ForCausalLM",), gemma2_metadata, **GEMMA_CONVERSION),
    random=RandomModel("gemma2", "gemma", config=_random_config, tied_only=True),
)
register(GEMMA2)
