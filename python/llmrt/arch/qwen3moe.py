"""qwen3moe: Qwen3 MoE models (GGUF general.architecture == "qwen3moe").

The qwen3 attention (per-head Q/K RMSNorm, no biases, NEOX RoPE, key_length may differ from
n_embd / n_head) with a MoE FFN: a softmax router picks expert_used_count experts whose
weights are renormalised (llama.cpp's qwen3moe graph; the released Qwen3-MoE configs set
norm_topk_prob). No shared expert.
"""

from .base import ACT_SILU, GATING_SOFTMAX, ROPE_NEOX, ArchSpec, without_dense_ffn
from .conversion import HFConversion, RandomModel
from .hf_metadata import base_metadata, moe_metadata
from .qwen2moe import QWEN_MOE_EXPERT_NAMES, qwen_moe_random_config
from .qwen3 import QWEN3, explicit_head_dim
from .registry import register
from .shape import Shape


def _random_config(s: Shape, cfg: dict) -> None:
    explicit_head_dim(s, cfg)
    qwen_moe_random_config(s, cfg, renormalise=QWEN3MOE.expert_weights_norm)


def qwen3moe_metadata(w, cfg: dict) -> None:
    base_metadata(w, cfg)
    moe_metadata(w, cfg, arch_default_norm=QWEN3MOE.expert_weights_norm)


QWEN3MOE = ArchSpec(
    name="qwen3moe",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_norm", "attn_k_norm"),
    expert_gating=GATING_SOFTMAX,
    expert_weights_norm=True,
    hf_names={**without_dense_ffn(QWEN3.hf_names), **QWEN_MOE_EXPERT_NAMES},
    convert=HFConversion(("Qwen3MoeForCausalLM",), qwen3moe_metadata, vocab_prefer="bpe"),
    random=RandomModel("qwen3moe", "qwen", config=_random_config, moe=True, presets={
        "qwen3-30b-a3b": Shape("qwen3moe", 2048, 48, 32, 4, 768, 151936, 40960, head_dim=128,
                               experts=128, experts_used=8, tied=False, rope_theta=1000000.0,
                               rms_eps=1e-6)}),
)
register(QWEN3MOE)
