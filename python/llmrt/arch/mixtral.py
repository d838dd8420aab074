"""mixtral: Mixtral-style MoE llama models (GGUF general.architecture == "llama" with
llama.expert_count > 0, as llama.cpp writes them).

The llama block (interleaved-pair RoPE after the converter's Q/K permutation, SwiGLU) with
its FFN replaced by n_expert SwiGLU experts behind a softmax router: each token takes the top
expert_used_count experts, their weights renormalised to sum to 1 (llama.cpp's llama graph
always renormalises; so does transformers' Mixtral). No shared expert.
"""

from dataclasses import replace

from .base import GATING_SOFTMAX, without_dense_ffn
from .conversion import HFConversion, RandomModel
from .hf_metadata import llama_metadata, moe_metadata
from .llama import LLAMA
from .registry import register
from .shape import Shape


def mixtral_metadata(w, cfg: dict) -> None:
    llama_metadata(w, cfg)
    moe_metadata(w, cfg)


def _random_config(s: Shape, cfg: dict) -> None:
    cfg.update(num_local_experts=s.experts, num_experts_per_tok=s.experts_used)

MIXTRAL = replace(
    LLAMA,
    expert_gating=GATING_SOFTMAX,
    expert_weights_norm=True,
    hf_names={
        **without_dense_ffn(LLAMA.hf_names),
        "model.layers.{}.block_sparse_moe.gate.weight": "blk.{}.ffn_gate_inp.weight",
        # "{x}": the expert index; the converter stacks experts 0..n-1 into one 3-D tensor
        "model.layers.{}.block_sparse_moe.experts.{x}.w1.weight": "blk.{}.ffn_gate_exps.weight",
        "model.layers.{}.block_sparse_moe.experts.{x}.w3.weight": "blk.{}.ffn_up_exps.weight",
        "model.layers.{}.block_sparse_moe.experts.{x}.w2.weight": "blk.{}.ffn_down_exps.weight",
    },
    convert=HFConversion(("MixtralForCausalLM",), mixtral_metadata, permute_qk=True),
    random=RandomModel("mixtral", "mistral", config=_random_config, moe=True, presets={
        "moe-small": Shape("mixtral", 768, 8, 12, 4, 1536, 32000, 4096, experts=8, experts_used=2,
                           tied=False)}),
)
register(MIXTRAL, moe_variant_of="llama")
