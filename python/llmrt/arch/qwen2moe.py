"""qwen2moe: Qwen1.5-MoE / Qwen2-MoE (GGUF general.architecture == "qwen2moe").

The qwen2 attention (Q/K/V biases, NEOX RoPE) with a MoE FFN: a softmax router picks
expert_used_count experts whose weights are NOT renormalised (llama.cpp's qwen2moe graph;
transformers' norm_topk_prob defaults to False), plus a shared expert always on, scaled by
sigmoid(ffn_gate_inp_shexp . h).
"""

from .base import ACT_SILU, GATING_SOFTMAX, ROPE_NEOX, ArchSpec, without_dense_ffn
from .conversion import HFConversion, RandomModel
from .hf_metadata import base_metadata, moe_metadata
from .qwen2 import QWEN2
from .registry import register
from .shape import Shape

# The router and the stacked experts ("{x}": expert index; the converter stacks 0..n-1 into
# one 3-D tensor), shared by Qwen2-MoE and Qwen3-MoE checkpoints.
QWEN_MOE_EXPERT_NAMES = {
    "model.layers.{}.mlp.gate.weight": "blk.{}.ffn_gate_inp.weight",
    "model.layers.{}.mlp.experts.{x}.gate_proj.weight": "blk.{}.ffn_gate_exps.weight",
    "model.layers.{}.mlp.experts.{x}.up_proj.weight": "blk.{}.ffn_up_exps.weight",
    "model.layers.{}.mlp.experts.{x}.down_proj.weight": "blk.{}.ffn_down_exps.weight",
}

def qwen_moe_random_config(s: Shape, cfg: dict, renormalise: bool) -> None:
    cfg.update(num_experts=s.experts, num_experts_per_tok=s.experts_used, moe_intermediate_size=s.ffn,
               norm_topk_prob=renormalise)


def _random_config(s: Shape, cfg: dict) -> None:
    qwen_moe_random_config(s, cfg, renormalise=QWEN2MOE.expert_weights_norm)
    cfg["shared_expert_intermediate_size"] = s.shared_ffn or 4 * s.ffn


def qwen2moe_metadata(w, cfg: dict) -> None:
    base_metadata(w, cfg)
    moe_metadata(w, cfg, arch_default_norm=QWEN2MOE.expert_weights_norm)


QWEN2MOE = ArchSpec(
    name="qwen2moe",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    extra_required=("attn_q_bias", "attn_k_bias", "attn_v_bias"),
    moe_required=("ffn_gate_inp_shexp", "ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp"),
    expert_gating=GATING_SOFTMAX,
    expert_weights_norm=False,
    hf_names={
        **without_dense_ffn(QWEN2.hf_names),
        **QWEN_MOE_EXPERT_NAMES,
        "model.layers.{}.mlp.shared_expert_gate.weight": "blk.{}.ffn_gate_inp_shexp.weight",
        "model.layers.{}.mlp.shared_expert.gate_proj.weight": "blk.{}.ffn_gate_shexp.weight",
        "model.layers.{}.mlp.shared_expert.up_proj.weight": "blk.{}.ffn_up_shexp.weight",
        "model.layers.{}.mlp.shared_expert.down_proj.weight": "blk.{}.ffn_down_shexp.weight",
    },
    convert=HFConversion(("Qwen2MoeForCausalLM",), qwen2moe_metadata, vocab_prefer="bpe"),
    random=RandomModel("qwen2moe", "qwen", config=_random_config, moe=True),
)
register(QWEN2MOE)
