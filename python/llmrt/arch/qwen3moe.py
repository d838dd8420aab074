"""qwen3moe: Qwen3 MoE models (GGUF general.architecture == "qwen3moe").

The qwen3 attention (per-head Q/K RMSNorm, no biases, NEOX RoPE, key_length may differ from
n_embd / n_head) with a MoE FFN: a softmax router picks expert_used_count experts whose
weights are renormalised (llama.cpp's qwen3moe graph; the released Qwen3-MoE configs set
norm_topk_prob). No shared expert.
"""

from .base import ACT_SILU, GATING_SOFTMAX, ROPE_NEOX, ArchSpec, without_dense_ffn
from .qwen2moe import QWEN_MOE_EXPERT_NAMES
from .qwen3 import QWEN3

QWEN3MOE = ArchSpec(
    name="qwen3moe",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_norm", "attn_k_norm"),
    expert_gating=GATING_SOFTMAX,
    expert_weights_norm=True,
    hf_names={**without_dense_ffn(QWEN3.hf_names), **QWEN_MOE_EXPERT_NAMES},
)
