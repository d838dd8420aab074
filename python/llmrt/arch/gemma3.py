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

from ..errors import ConvertError
from .base import ACT_GELU_TANH, ArchSpec, LLAMA_HF_NAMES, QK_NORM_HF_NAMES, ROPE_NEOX, sqrt_embd_scale
from .conversion import HFConversion, RandomModel
from .hf_metadata import gguf_module, rope_params
from .metadata_values import MetadataValues
from .registry import register
from .shape import Shape
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


def gemma3_metadata(w, cfg: dict) -> None:
    gguf = gguf_module()
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
    # llama.cpp assumes SWA_PERIOD - 1 local layers then one global; a config that says otherwise gets
    # the explicit per-layer pattern (which llmrt's gemma3 ArchSpec reads).
    types = cfg.get("layer_types")
    if types:
        pattern = [t == "sliding_attention" for t in types]
        if pattern != [il % SWA_PERIOD < SWA_PERIOD - 1 for il in range(len(pattern))]:
            w.add_sliding_window_pattern(pattern)
    w.add_head_count_kv(cfg.get("num_key_value_heads", 4))
    if full.get("rope_type") == "linear" and full.get("factor") is not None:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(full["factor"])


def gemma_random_config(s: Shape, cfg: dict) -> None:
    cfg.update(sliding_window=s.sliding_window or 512, query_pre_attn_scalar=s.head_width,
               head_dim=s.head_width)


def _random_config(s: Shape, cfg: dict) -> None:
    gemma_random_config(s, cfg)
    cfg["rope_local_base_freq"] = 10000.0


# Gemma's checkpoints carry the norm weights without their +1, and a SentencePiece vocabulary
# with no space prefix; the embedding may have rows past the vocabulary.
GEMMA_CONVERSION = dict(norm_shift=1.0, spm_space_prefix=False)

GEMMA3 = ArchSpec(
    name="gemma3",
    rope_mode=ROPE_NEOX,
    activation=ACT_GELU_TANH,
    extra_required=("attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"),
    customize=_gemma3_extras,
    # Norm weights get Gemma's +1 folded in by the converter (HFConversion.norm_shift).
    hf_names={
        **LLAMA_HF_NAMES,
        **QK_NORM_HF_NAMES,
        # Gemma's sandwich: the HF post-attention norm is applied to the attention output, and
        # a separate pre-feedforward norm feeds the FFN.
        "model.layers.{}.post_attention_layernorm.weight": "blk.{}.post_attention_norm.weight",
        "model.layers.{}.pre_feedforward_layernorm.weight": "blk.{}.ffn_norm.weight",
        "model.layers.{}.post_feedforward_layernorm.weight": "blk.{}.post_ffw_norm.weight",
    },
    convert=HFConversion(("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"), gemma3_metadata,
                         truncate_embd=True, **GEMMA_CONVERSION),
    random=RandomModel("gemma3", "gemma", config=_random_config, tied_only=True, presets={
        "gemma3-270m": Shape("gemma3", 640, 18, 4, 1, 2048, 262144, 32768, head_dim=256,
                             rope_theta=1000000.0, rms_eps=1e-6, sliding_window=512)}),
)
register(GEMMA3)
