"""llama: Llama 2/3, SmolLM, Mistral-style models (GGUF general.architecture == "llama").

Pre-norm RMSNorm blocks, SwiGLU FFN, RoPE on interleaved pairs (the converter permutes Q/K
into that order), grouped-query attention, an output head that may be tied to the embedding.
"""

from .base import ACT_SILU, ArchSpec, LLAMA_HF_NAMES, ROPE_NORMAL


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
    hf_names=LLAMA_HF_NAMES,
)
