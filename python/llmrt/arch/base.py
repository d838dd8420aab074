"""ArchSpec: everything llmrt knows about one architecture, in one table.

The loader reads hyperparameters through it, the native decoder block is switched by the
dict it produces, and (later) the converter maps Hugging Face names with it. Adding an
architecture means adding one file that builds an ArchSpec and registers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import ModelError

ROPE_NORMAL = 0  # rotate (x[2i], x[2i+1])
ROPE_NEOX = 2    # rotate (x[i], x[i + n_rot/2])

ACT_SILU = 0
ACT_GELU_TANH = 1

# llama.cpp's expert_gating_func values (csrc/ops/moe_gating.h)
GATING_SOFTMAX = 1
GATING_SIGMOID = 2

# GGUF tensor names of the generic decoder block ("{}" = layer index). Roles are the names the
# native loader binds (csrc/models/model.cpp).
GLOBAL_TENSORS = {
    "token_embd": "token_embd.weight",
    "output_norm": "output_norm.weight",
    "output": "output.weight",
    # per-frequency RoPE divisors (n_rot / 2), every layer: Llama 3's long-context scaling
    "rope_freqs": "rope_freqs.weight",
}
LAYER_TENSORS = {
    "attn_norm": "blk.{}.attn_norm.weight",
    "attn_q": "blk.{}.attn_q.weight",
    "attn_k": "blk.{}.attn_k.weight",
    "attn_v": "blk.{}.attn_v.weight",
    "attn_output": "blk.{}.attn_output.weight",
    "attn_q_bias": "blk.{}.attn_q.bias",
    "attn_k_bias": "blk.{}.attn_k.bias",
    "attn_v_bias": "blk.{}.attn_v.bias",
    "attn_output_bias": "blk.{}.attn_output.bias",
    "attn_q_norm": "blk.{}.attn_q_norm.weight",
    "attn_k_norm": "blk.{}.attn_k_norm.weight",
    "post_attention_norm": "blk.{}.post_attention_norm.weight",
    "ffn_norm": "blk.{}.ffn_norm.weight",
    "ffn_gate": "blk.{}.ffn_gate.weight",
    "ffn_up": "blk.{}.ffn_up.weight",
    "ffn_down": "blk.{}.ffn_down.weight",
    "post_ffw_norm": "blk.{}.post_ffw_norm.weight",
    # mixture of experts: router, stacked experts (ne = n_embd, n_ff_exp, n_expert for gate/up),
    # the router's choice bias, and a shared expert with its sigmoid gate
    "ffn_gate_inp": "blk.{}.ffn_gate_inp.weight",
    "ffn_gate_exps": "blk.{}.ffn_gate_exps.weight",
    "ffn_up_exps": "blk.{}.ffn_up_exps.weight",
    "ffn_down_exps": "blk.{}.ffn_down_exps.weight",
    "exp_probs_b": "blk.{}.exp_probs_b.bias",
    "ffn_gate_inp_shexp": "blk.{}.ffn_gate_inp_shexp.weight",
    "ffn_gate_shexp": "blk.{}.ffn_gate_shexp.weight",
    "ffn_up_shexp": "blk.{}.ffn_up_shexp.weight",
    "ffn_down_shexp": "blk.{}.ffn_down_shexp.weight",
}
# Hugging Face -> GGUF names of the llama-style decoder most architectures share; specs add or
# override entries (biases, Q/K norms, sandwich norms) with {**LLAMA_HF_NAMES, ...}.
LLAMA_HF_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "model.layers.{}.input_layernorm.weight": "blk.{}.attn_norm.weight",
    "model.layers.{}.self_attn.q_proj.weight": "blk.{}.attn_q.weight",
    "model.layers.{}.self_attn.k_proj.weight": "blk.{}.attn_k.weight",
    "model.layers.{}.self_attn.v_proj.weight": "blk.{}.attn_v.weight",
    "model.layers.{}.self_attn.o_proj.weight": "blk.{}.attn_output.weight",
    "model.layers.{}.post_attention_layernorm.weight": "blk.{}.ffn_norm.weight",
    "model.layers.{}.mlp.gate_proj.weight": "blk.{}.ffn_gate.weight",
    "model.layers.{}.mlp.up_proj.weight": "blk.{}.ffn_up.weight",
    "model.layers.{}.mlp.down_proj.weight": "blk.{}.ffn_down.weight",
}
QK_NORM_HF_NAMES = {
    "model.layers.{}.self_attn.q_norm.weight": "blk.{}.attn_q_norm.weight",
    "model.layers.{}.self_attn.k_norm.weight": "blk.{}.attn_k_norm.weight",
}



def without_dense_ffn(names: Mapping[str, str]) -> dict:
    """A name table minus the dense FFN projections (MoE architectures replace them)."""
    dense = ("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
    return {k: v for k, v in names.items() if not any(f in k for f in dense)}


# Roles every architecture must have; the rest are switched on per spec.
REQUIRED_ROLES = ("token_embd", "output_norm", "attn_norm", "attn_q", "attn_k", "attn_v",
                  "attn_output", "ffn_norm")
DENSE_FFN_ROLES = ("ffn_gate", "ffn_up", "ffn_down")
MOE_FFN_ROLES = ("ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps")


@dataclass(frozen=True)
class ArchSpec:
    name: str
    rope_mode: int = ROPE_NORMAL
    activation: int = ACT_SILU
    # Roles beyond REQUIRED_ROLES this architecture may have; absent ones are simply skipped.
    optional_roles: tuple[str, ...] = ("output",)
    # Roles beyond REQUIRED_ROLES that must be present.
    extra_required: tuple[str, ...] = ()
    # Mixture of experts, when the metadata's expert_count > 0: roles required beyond
    # MOE_FFN_ROLES (a shared expert), and llama.cpp's routing for this architecture where the
    # file has no expert_gating_func / expert_weights_norm key.
    moe_required: tuple[str, ...] = ()
    expert_gating: int = GATING_SOFTMAX
    expert_weights_norm: bool = False
    # Hook for architecture-specific hyperparameters: (metadata, hparams) -> None, edits in place.
    customize: Callable[[Mapping[str, Any], dict], None] | None = None
    # Hugging Face -> GGUF tensor names, for the converter.
    hf_names: Mapping[str, str] = field(default_factory=dict)

    def key(self, suffix: str) -> str:
        return f"{self.name}.{suffix}"

    def hparams(self, md: Mapping[str, Any]) -> dict:
        """The native HParams dict (csrc/models/hparams.h) for a file's metadata."""

        def get(suffix, default=None, required=False):
            key = self.key(suffix)
            if key in md:
                return md[key]
            if required:
                raise ModelError(f"{self.name}: metadata key {key!r} is missing")
            return default

        n_embd = int(get("embedding_length", required=True))
        n_head = int(get("attention.head_count", required=True))
        head_dim_k = int(get("attention.key_length", n_embd // n_head))
        tokens = md.get("tokenizer.ggml.tokens")
        hp = {
            "n_vocab": int(get("vocab_size", len(tokens) if tokens is not None else 0)),
            "n_embd": n_embd,
            "n_layer": int(get("block_count", required=True)),
            "n_head": n_head,
            "n_head_kv": int(get("attention.head_count_kv", n_head)),
            "head_dim_k": head_dim_k,
            "head_dim_v": int(get("attention.value_length", head_dim_k)),
            "n_ff": int(get("feed_forward_length", 0)),
            "rms_eps": float(get("attention.layer_norm_rms_epsilon", 1e-5)),
            "n_rot": int(get("rope.dimension_count", head_dim_k)),
            "rope_mode": self.rope_mode,
            "rope_base": float(get("rope.freq_base", 10000.0)),
            "rope_scale": 1.0,
            "activation": self.activation,
            "embd_scale": 1.0,
            "attn_scale": 0.0,
            "attn_softcap": float(get("attn_logit_softcapping", 0.0) or 0.0),
            "final_softcap": float(get("final_logit_softcapping", 0.0) or 0.0),
            "sliding_window": 0,
            "layer_is_swa": [],
        }
        scaling = get("rope.scaling.type")
        factor = get("rope.scaling.factor")
        if scaling == "linear" and factor:
            hp["rope_scale"] = 1.0 / float(factor)
        elif scaling not in (None, "none", "linear"):
            raise ModelError(f"{self.name}: RoPE scaling {scaling!r} is not supported yet")
        hp["rope_base_swa"] = hp["rope_base"]
        hp["rope_scale_swa"] = hp["rope_scale"]
        self._moe_hparams(get, hp)
        if self.customize:
            self.customize(md, hp)
        return hp

    def _moe_hparams(self, get, hp: dict) -> None:
        n_expert = int(get("expert_count", 0) or 0)
        hp["n_expert"] = n_expert
        if n_expert == 0:
            return
        n_used = int(get("expert_used_count", 0) or 0)
        if not 1 <= n_used <= n_expert:
            raise ModelError(f"{self.name}: expert_used_count {n_used} is not in 1..{n_expert}")
        gating = int(get("expert_gating_func", 0) or 0) or self.expert_gating
        if gating not in (GATING_SOFTMAX, GATING_SIGMOID):
            raise ModelError(f"{self.name}: expert gating function {gating} is not supported")
        hp.update(n_expert_used=n_used, expert_gating=gating,
                  expert_weights_norm=bool(get("expert_weights_norm", self.expert_weights_norm)),
                  expert_weights_scale=float(get("expert_weights_scale", 0.0) or 1.0),
                  expert_group_count=int(get("expert_group_count", 0) or 0),
                  expert_group_used_count=int(get("expert_group_used_count", 0) or 0))

    def tensor_names(self) -> dict:
        """The native TensorNames dict: role -> GGUF name (template). The FFN roles are all
        optional there: the native loader requires the dense or the MoE set by n_expert."""
        optional = [r for r in (*GLOBAL_TENSORS, *LAYER_TENSORS)
                    if r not in REQUIRED_ROLES and r not in self.extra_required]
        return {"global": dict(GLOBAL_TENSORS), "layer": dict(LAYER_TENSORS), "optional": optional}

    def required_roles(self, n_expert: int = 0) -> tuple[str, ...]:
        ffn = (*MOE_FFN_ROLES, *self.moe_required) if n_expert > 0 else DENSE_FFN_ROLES
        return (*REQUIRED_ROLES, *ffn, *self.extra_required)

    def check_tensors(self, tensor_names: set[str], n_layer: int, n_expert: int = 0) -> None:
        """Raise ModelError naming the first required tensor the file lacks."""
        for role in self.required_roles(n_expert):
            template = GLOBAL_TENSORS.get(role) or LAYER_TENSORS[role]
            for il in (range(n_layer) if "{}" in template else [None]):
                name = template.format(il) if il is not None else template
                if name not in tensor_names:
                    raise ModelError(f"{self.name}: required tensor {name!r} is missing from the file")


def sqrt_embd_scale(md: Mapping[str, Any], hp: dict) -> None:
    hp["embd_scale"] = math.sqrt(hp["n_embd"])
