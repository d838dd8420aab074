"""gemma3: Gemma 3 (GGUF general.architecture == "gemma3").

Differences from llama, all switches of the generic block:
  - token embeddings scaled by sqrt(n_embd);
  - Q and K RMS-normed per head before RoPE; post-attention and post-FFN norms (sandwich);
  - GELU (tanh) gated FFN; NEOX RoPE;
  - sliding-window layers (il % 6 < 5 unless the metadata gives a pattern) with RoPE base
    10000 (or rope.freq_base_swa) and no scaling; global layers use the metadata's base/scaling;
  - the GGUF norm weights already include Gemma's +1 (llama.cpp's converter adds it to every
    *norm.weight, Q/K norms included), so plain RMSNorm at run time;
  - output head tied to the embedding; optional final logit soft-capping; no attention
    soft-capping (a leftover attn_logit_softcapping key is ignored).
"""

from .base import ACT_GELU_TANH, ArchSpec, LLAMA_HF_NAMES, QK_NORM_HF_NAMES, ROPE_NEOX, sqrt_embd_scale
from .metadata_values import MetadataValues
from .sliding_window import set_sliding_layers

SWA_PERIOD = 6  # five local layers, then one global


def _gemma3_extras(md, hp):
    sqrt_embd_scale(md, hp)
    hp["attn_scale"] = hp["head_dim_k"] ** -0.5
    # Gemma 3 dropped Gemma 2's attention soft-capping: neither llama.cpp nor transformers
    # apply it, even where a config still carries attn_logit_softcapping.
    hp["attn_softcap"] = 0.0
    v = MetadataValues("gemma3", md)
    set_sliding_layers(v, hp, SWA_PERIOD)
    hp["rope_base_swa"] = v.real("rope.freq_base_swa", 10000.0, minimum=1.0)
    hp["rope_scale_swa"] = 1.0


GEMMA3 = ArchSpec(
    name="gemma3",
    rope_mode=ROPE_NEOX,
    activation=ACT_GELU_TANH,
    extra_required=("attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"),
    customize=_gemma3_extras,
    # Norm weights get Gemma's +1 folded in by the converter (see convert/hf_config.py).
    hf_names={
        **LLAMA_HF_NAMES,
        **QK_NORM_HF_NAMES,
        # Gemma's sandwich: the HF post-attention norm is applied to the attention output, and
        # a separate pre-feedforward norm feeds the FFN.
        "model.layers.{}.post_attention_layernorm.weight": "blk.{}.post_attention_norm.weight",
        "model.layers.{}.pre_feedforward_layernorm.weight": "blk.{}.ffn_norm.weight",
        "model.layers.{}.post_feedforward_layernorm.weight": "blk.{}.post_ffw_norm.weight",
    },
)
