"""ArchSpec: everything llmrt knows about one architecture, in one table.

The loader reads hyperparameters through it and the native decoder block is switched by the
HParams it produces; the converter maps Hugging Face checkpoints with its `convert` part and the
random-model generator builds files from its `random` part (conversion.py). Adding an
architecture means adding one file that builds an ArchSpec and registers it (registry.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import _core
from ..errors import ModelError
from .conversion import HFConversion, RandomModel
from .hparam_limits import check_hparams
from .metadata_values import MetadataValues

# The native enums (bound from csrc/ops/*.h, where their numbers are defined)
ROPE_NORMAL = _core.RopeMode.normal   # rotate (x[2i], x[2i+1])
ROPE_NEOX = _core.RopeMode.neox       # rotate (x[i], x[i + n_rot/2])
ACT_SILU = _core.Activation.silu
ACT_GELU_TANH = _core.Activation.gelu_tanh
# llama.cpp's expert_gating_func values
GATING_SOFTMAX = _core.GatingFunc.softmax
GATING_SIGMOID = _core.GatingFunc.sigmoid

# GGUF tensor names of the generic decoder block ("{}" = layer index). Roles are the names the
# native loader binds (csrc/models/model.cpp).
GLOBAL_TENSORS = {
    "token_embd": "token_embd.weight",
    "output_norm": "output_norm.weight",
    "output": "output.weight",
    # per-frequency RoPE divisors (n_rot / 2), every layer: Llama 3's long-context scaling
    "rope_freqs": "rope_freqs.weight",
    # LongRoPE's two sets of divisors (Phi-3); the spec binds one of them as rope_freqs
    "rope_factors_long": "rope_factors_long.weight",
    "rope_factors_short": "rope_factors_short.weight",
}
LAYER_TENSORS = {
    "attn_norm": "blk.{}.attn_norm.weight",
    "attn_q": "blk.{}.attn_q.weight",
    # Q, K and V rows stacked in one matrix (Phi-3); the loader takes it apart
    "attn_qkv": "blk.{}.attn_qkv.weight",
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


# Tensors some converters write that the forward pass rightly does without (none so far): every
# other tensor of a file must have a role above, or loading refuses the file.
KNOWN_UNUSED_TENSORS: frozenset[str] = frozenset()

# Roles every architecture must have; the rest are switched on per spec.
REQUIRED_ROLES = ("token_embd", "output_norm", "attn_norm", "attn_q", "attn_k", "attn_v",
                  "attn_output", "ffn_norm")
DENSE_FFN_ROLES = ("ffn_gate", "ffn_up", "ffn_down")
MOE_FFN_ROLES = ("ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps")


@dataclass(frozen=True)
class ArchSpec:
    name: str
    rope_mode: _core.RopeMode = ROPE_NORMAL
    activation: _core.Activation = ACT_SILU
    # Roles beyond REQUIRED_ROLES this architecture may have; absent ones are simply skipped.
    optional_roles: tuple[str, ...] = ("output",)
    # Roles beyond REQUIRED_ROLES that must be present.
    extra_required: tuple[str, ...] = ()
    # Mixture of experts, when the metadata's expert_count > 0: roles required beyond
    # MOE_FFN_ROLES (a shared expert), and llama.cpp's routing for this architecture where the
    # file has no expert_gating_func / expert_weights_norm key.
    moe_required: tuple[str, ...] = ()
    expert_gating: _core.GatingFunc = GATING_SOFTMAX
    expert_weights_norm: bool = False
    # Hook for architecture-specific hyperparameters: (metadata, hparams) -> None, edits in place.
    customize: Callable[[Mapping[str, Any], dict], None] | None = None
    # Hugging Face -> GGUF tensor names, for the converter.
    hf_names: Mapping[str, str] = field(default_factory=dict)
    # Roles every file of this architecture has (fused-tensor architectures name others).
    base_roles: tuple[str, ...] = REQUIRED_ROLES
    dense_roles: tuple[str, ...] = DENSE_FFN_ROLES
    # (metadata, n_ctx) -> the tensor to bind as rope_freqs, for files carrying several sets
    rope_freqs_for: Callable[[Mapping[str, Any], int], str] | None = None
    # How `llmrt convert` writes this architecture from a Hugging Face checkpoint, and how
    # `llmrt convert --random` makes one (None: not offered).
    convert: HFConversion | None = None
    random: RandomModel | None = None

    def key(self, suffix: str) -> str:
        return f"{self.name}.{suffix}"

    def hparams(self, md: Mapping[str, Any]) -> dict:
        """The hyperparameters of a file's metadata, every value checked (metadata_values.py,
        check_hparams), keyed by the fields of the native HParams (csrc/models/hparams.h;
        native.native_hparams builds it), plus n_ctx_train, which only Python reads."""
        v = MetadataValues(self.name, md)
        n_embd = v.integer("embedding_length", lo=1, required=True)
        n_head = v.integer("attention.head_count", lo=1, required=True)
        if not v.has("attention.key_length") and n_embd % n_head:
            raise v.fail("embedding_length", f"is not a multiple of {v.key('attention.head_count')} = "
                         f"{n_head}, and no {v.key('attention.key_length')} gives the head size")
        head_dim_k = v.integer("attention.key_length", n_embd // n_head, lo=1)
        tokens = md.get("tokenizer.ggml.tokens")
        hp = {
            "n_vocab": v.integer("vocab_size", len(tokens) if isinstance(tokens, list) else 0, lo=1),
            "n_embd": n_embd,
            "n_layer": v.integer("block_count", lo=1, required=True),
            "n_head": n_head,
            "n_head_kv": v.integer("attention.head_count_kv", n_head, lo=1, hi=n_head),
            "head_dim_k": head_dim_k,
            "head_dim_v": v.integer("attention.value_length", head_dim_k, lo=1),
            "n_ff": v.integer("feed_forward_length", 0),
            "rms_eps": v.real("attention.layer_norm_rms_epsilon", 1e-5, positive=True, below=1.0),
            "n_rot": v.integer("rope.dimension_count", head_dim_k, lo=2, hi=head_dim_k),
            "rope_mode": self.rope_mode,
            # a base below 1 turns RoPE's decaying frequencies into growing ones (inf, then NaN)
            "rope_base": v.real("rope.freq_base", 10000.0, minimum=1.0),
            "rope_scale": 1.0,
            "activation": self.activation,
            "embd_scale": 1.0,
            "attn_scale": 0.0,
            "attn_softcap": v.real("attn_logit_softcapping", 0.0),
            "final_softcap": v.real("final_logit_softcapping", 0.0),
            "sliding_window": 0,
            "layer_is_swa": [],
            "n_ctx_train": v.integer("context_length", 0, lo=1),
        }
        if hp["n_head"] % hp["n_head_kv"]:
            raise v.fail("attention.head_count_kv", f"does not divide {v.key('attention.head_count')} = {n_head}")
        if hp["n_rot"] % 2:
            raise v.fail("rope.dimension_count", "is odd (RoPE rotates pairs)")
        scaling = v.raw("rope.scaling.type")
        factor = v.real("rope.scaling.factor", 0.0, below=1e6)
        if scaling == "linear" and factor:
            hp["rope_scale"] = 1.0 / factor
        elif scaling == "yarn" and factor:
            hp.update(yarn_params(v, hp, factor))
        elif scaling not in (None, "none", "linear"):
            raise ModelError(f"{self.name}: RoPE scaling {scaling!r} is not supported yet")
        hp["rope_base_swa"] = hp["rope_base"]
        hp["rope_scale_swa"] = hp["rope_scale"]
        self._moe_hparams(v, hp)
        if self.customize:
            try:
                self.customize(md, hp)
            except (TypeError, ValueError, ArithmeticError) as e:
                raise ModelError(f"{self.name}: unusable architecture-specific metadata: {e}") from None
        check_hparams(self.name, hp)
        return hp

    def _moe_hparams(self, v: MetadataValues, hp: dict) -> None:
        n_expert = v.integer("expert_count", 0)
        hp["n_expert"] = n_expert
        if n_expert == 0:
            return
        n_used = v.integer("expert_used_count", 0)
        if not 1 <= n_used <= n_expert:
            raise ModelError(f"{self.name}: expert_used_count {n_used} is not in 1..{n_expert}")
        gating = v.integer("expert_gating_func", 0) or int(self.expert_gating)
        if gating not in {int(g) for g in _core.GatingFunc.__members__.values()}:
            raise ModelError(f"{self.name}: expert gating function {gating} is not supported")
        hp.update(n_expert_used=n_used, expert_gating=_core.GatingFunc(gating),
                  expert_weights_norm=bool(v.raw("expert_weights_norm", self.expert_weights_norm)),
                  expert_weights_scale=v.real("expert_weights_scale", 0.0) or 1.0,
                  expert_group_count=v.integer("expert_group_count", 0),
                  expert_group_used_count=v.integer("expert_group_used_count", 0))

    def tensor_names(self, md: Mapping[str, Any] | None = None, n_ctx: int = 0) -> dict:
        """Role -> GGUF name (template) tables for the native TensorNames (native.py). The FFN roles are all
        optional there: the native loader requires the dense or the MoE set by n_expert."""
        optional = [r for r in (*GLOBAL_TENSORS, *LAYER_TENSORS)
                    if r not in self.base_roles and r not in self.extra_required]
        names = dict(GLOBAL_TENSORS)
        if self.rope_freqs_for is not None and md is not None:
            names["rope_freqs"] = self.rope_freqs_for(md, n_ctx)
        return {"global": names, "layer": dict(LAYER_TENSORS), "optional": optional}

    def required_roles(self, n_expert: int = 0) -> tuple[str, ...]:
        ffn = (*MOE_FFN_ROLES, *self.moe_required) if n_expert > 0 else self.dense_roles
        return (*self.base_roles, *ffn, *self.extra_required)

    def check_tensors(self, tensor_names: set[str], n_layer: int, n_expert: int = 0) -> None:
        """Raise ModelError naming the first required tensor the file lacks, or a tensor of a
        layer beyond block_count (a block count that disagrees with the file)."""
        for name in tensor_names:
            layer = _layer_of(name)
            if layer is not None and layer >= n_layer:
                raise ModelError(f"{self.name}: tensor {name!r} belongs to layer {layer}, but "
                                 f"{self.key('block_count')} = {n_layer}")
        templates = set(GLOBAL_TENSORS.values()) | set(LAYER_TENSORS.values()) | KNOWN_UNUSED_TENSORS
        unknown = sorted(n for n in tensor_names if re.sub(r"^blk\.\d+\.", "blk.{}.", n) not in templates)
        if unknown:
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise ModelError(f"{self.name}: tensor {unknown[0]!r}{more} has no role in llmrt's {self.name} "
                             f"block; running without it could be silently wrong, so the file is refused")
        for role in self.required_roles(n_expert):
            template = GLOBAL_TENSORS.get(role) or LAYER_TENSORS[role]
            for il in (range(n_layer) if "{}" in template else [None]):
                name = template.format(il) if il is not None else template
                if name not in tensor_names:
                    raise ModelError(f"{self.name}: required tensor {name!r} is missing from the file")


def yarn_params(v, hp: dict, factor: float) -> dict:
    """YaRN's RoPE settings as llama.cpp derives them (ggml_rope_yarn_corr_dims): frequencies
    that turn fewer than beta_slow times over the original context are interpolated (divided by
    `factor`), those turning more than beta_fast times keep their value, a linear ramp between;
    attention logits get the temperature correction 0.1 ln(factor) + 1 (times attn_factor)."""
    n_ctx_orig = v.integer("rope.scaling.original_context_length", hp["n_ctx_train"] or 0, lo=1)
    if n_ctx_orig < 1:
        raise v.fail("rope.scaling.original_context_length", "is missing (YaRN needs the original context)")
    beta_fast = v.real("rope.scaling.yarn_beta_fast", 32.0, positive=True)
    beta_slow = v.real("rope.scaling.yarn_beta_slow", 1.0, positive=True)
    attn_factor = v.real("rope.scaling.attn_factor", 1.0, positive=True)
    n_rot, base = hp["n_rot"], hp["rope_base"]

    def corr_dim(n_rotations: float) -> float:
        return n_rot * math.log(n_ctx_orig / (n_rotations * 2 * math.pi)) / (2 * math.log(base))

    low = max(0.0, math.floor(corr_dim(beta_fast)))
    high = min(n_rot - 1.0, math.ceil(corr_dim(beta_slow)))
    return {"rope_scale": 1.0 / factor, "rope_ext_factor": 1.0, "rope_corr_low": float(low),
            "rope_corr_high": float(high), "rope_mscale": attn_factor * (1.0 + 0.1 * math.log(factor))}


def _layer_of(tensor_name: str) -> int | None:
    parts = tensor_name.split(".", 2)
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isascii() and parts[1].isdigit():
        return int(parts[1])
    return None


def sqrt_embd_scale(md: Mapping[str, Any], hp: dict) -> None:
    hp["embd_scale"] = math.sqrt(hp["n_embd"])
