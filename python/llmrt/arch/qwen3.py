"""qwen3: Qwen 3 dense models (GGUF general.architecture == "qwen3").

A llama block without biases whose Q and K are RMS-normed per head before RoPE
(attn_q_norm / attn_k_norm, one weight of head_dim shared by all heads); NEOX RoPE (no Q/K
permutation in the converter). The head width comes from attention.key_length and may differ
from n_embd / n_head. The output head may be tied to the embedding.
"""

from .base import ACT_SILU, ArchSpec, LLAMA_HF_NAMES, QK_NORM_HF_NAMES, ROPE_NEOX

QWEN3 = ArchSpec(
    name="qwen3",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_norm", "attn_k_norm"),
    hf_names={**LLAMA_HF_NAMES, **QK_NORM_HF_NAMES},
)
