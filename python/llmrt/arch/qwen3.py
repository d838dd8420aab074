"""qwen3: Qwen 3 dense models (GGUF general.architecture == "qwen3").

A llama block without biases whose Q and K are RMS-normed per head before RoPE
(attn_q_norm / attn_k_norm, one weight of head_dim shared by all heads); NEOX RoPE (no Q/K
permutation in the converter). The head width comes from attention.key_length and may differ
from n_embd / n_head. The output head may be tied to the embedding.
"""

from .base import ACT_SILU, ArchSpec, LLAMA_HF_NAMES, QK_NORM_HF_NAMES, ROPE_NEOX
from .conversion import HFConversion, RandomModel
from .hf_metadata import base_metadata
from .registry import register
from .shape import Shape


def explicit_head_dim(s: Shape, cfg: dict) -> None:
    """Qwen 3 configs always state head_dim (it may differ from hidden / heads)."""
    cfg["head_dim"] = s.head_width

QWEN3 = ArchSpec(
    name="qwen3",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_norm", "attn_k_norm"),
    hf_names={**LLAMA_HF_NAMES, **QK_NORM_HF_NAMES},
    convert=HFConversion(("Qwen3ForCausalLM",), base_metadata, vocab_prefer="bpe"),
    random=RandomModel("qwen3", "qwen", config=explicit_head_dim, presets={
        "qwen3-0.6b": Shape("qwen3", 1024, 28, 16, 8, 3072, 151936, 40960, head_dim=128,
                            rope_theta=1000000.0, rms_eps=1e-6)}),
)
register(QWEN3)
