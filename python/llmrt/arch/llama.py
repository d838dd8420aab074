"""llama: Llama 2/3, SmolLM, Mistral-style models (GGUF general.architecture == "llama").

Pre-norm RMSNorm blocks, SwiGLU FFN, RoPE on interleaved pairs (the converter permutes Q/K
into that order), grouped-query attention, an output head that may be tied to the embedding.
"""

from .base import ACT_SILU, ArchSpec, LLAMA_HF_NAMES, ROPE_NORMAL
from .metadata_values import MetadataValues


def _llama_extras(md, hp):
    # Mistral-style GGUFs declare a sliding window for every layer.
    window = MetadataValues("llama", md).integer("attention.sliding_window", 0)
    if window:
        hp["sliding_window"] = window
        hp["layer_is_swa"] = [1] * hp["n_layer"]


LLAMA = ArchSpec(
    name="llama",
    rope_mode=ROPE_NORMAL,
    activation=ACT_SILU,
    customize=_llama_extras,
    hf_names=LLAMA_HF_NAMES,
)
