"""llama: Llama 2/3, SmolLM, Mistral-style models (GGUF general.architecture == "llama").

Pre-norm RMSNorm blocks, SwiGLU FFN, RoPE on interleaved pairs (the converter permutes Q/K
into that order), grouped-query attention, an output head that may be tied to the embedding.
"""

from .base import ACT_SILU, ArchSpec, LLAMA_HF_NAMES, ROPE_NORMAL
from .conversion import HFConversion, RandomModel
from .hf_metadata import llama_metadata
from .metadata_values import MetadataValues
from .registry import register
from .shape import Shape

# Random-weight shapes of published models (`llmrt convert --random PRESET`).
PRESETS = {
    "smollm2-135m": Shape("llama", 576, 30, 9, 3, 1536, 49152, 8192, rope_theta=100000.0),
    "1b": Shape("llama", 2048, 16, 32, 8, 8192, 128256, 131072, rope_theta=500000.0),   # Llama-3.2-1B
    "3b": Shape("llama", 3072, 28, 24, 8, 8192, 128256, 131072, rope_theta=500000.0),   # Llama-3.2-3B
    "8b": Shape("llama", 4096, 32, 32, 8, 14336, 128256, 131072, tied=False,
                rope_theta=500000.0),                                                  # Llama-3.1-8B
}


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
    # llama.cpp converts Mistral to arch "llama" too
    convert=HFConversion(("LlamaForCausalLM", "MistralForCausalLM"), llama_metadata, permute_qk=True),
    random=RandomModel("llama", "llama", presets=PRESETS),
)
register(LLAMA)
