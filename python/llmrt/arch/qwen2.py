"""qwen2: Qwen 2 / Qwen 2.5 (GGUF general.architecture == "qwen2").

A llama block with biases on the Q, K and V projections (none on the output projection) and
NEOX RoPE: llama.cpp's converter does not permute Q/K for qwen2, so the rotation pairs
(x[i], x[i + n_rot/2]) as in Hugging Face. The output head may be tied to the embedding.
"""

from .base import ACT_SILU, ArchSpec, LLAMA_HF_NAMES, ROPE_NEOX
from .conversion import HFConversion, RandomModel
from .hf_metadata import base_metadata
from .registry import register

QWEN2 = ArchSpec(
    name="qwen2",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_bias", "attn_k_bias", "attn_v_bias"),
    hf_names={
        **LLAMA_HF_NAMES,
        "model.layers.{}.self_attn.q_proj.bias": "blk.{}.attn_q.bias",
        "model.layers.{}.self_attn.k_proj.bias": "blk.{}.attn_k.bias",
        "model.layers.{}.self_attn.v_proj.bias": "blk.{}.attn_v.bias",
    },
    convert=HFConversion(("Qwen2ForCausalLM",), base_metadata, vocab_prefer="bpe"),
    random=RandomModel("qwen2", "qwen"),
)
register(QWEN2)
