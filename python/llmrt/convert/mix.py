"""Which ggml type each tensor gets for a file type: llama-quantize's mix rules.

Mirrors llama.cpp's src/llama-quant.cpp for the file types llmrt writes (no importance matrix,
no overrides): which tensors are quantized at all, the output / tied-embedding head, the
attn_v and ffn_down bumps of the _M/_S mixes (use_more_bits), and the fallback when a row length
is not a multiple of the type's block size. The 70B-specific attn_v rule is not reproduced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, LlamaFileType as FT

from .errors import ConvertError

# file type name -> (LlamaFileType, default tensor type)
FILE_TYPES = {
    "F32": (FT.ALL_F32, T.F32), "F16": (FT.MOSTLY_F16, T.F16), "BF16": (FT.MOSTLY_BF16, T.BF16),
    "Q8_0": (FT.MOSTLY_Q8_0, T.Q8_0), "Q4_0": (FT.MOSTLY_Q4_0, T.Q4_0), "Q4_1": (FT.MOSTLY_Q4_1, T.Q4_1),
    "Q5_0": (FT.MOSTLY_Q5_0, T.Q5_0), "Q5_1": (FT.MOSTLY_Q5_1, T.Q5_1),
    "Q2_K": (FT.MOSTLY_Q2_K, T.Q2_K), "Q3_K_M": (FT.MOSTLY_Q3_K_M, T.Q3_K),
    "Q4_K_S": (FT.MOSTLY_Q4_K_S, T.Q4_K), "Q4_K_M": (FT.MOSTLY_Q4_K_M, T.Q4_K),
    "Q5_K_S": (FT.MOSTLY_Q5_K_S, T.Q5_K), "Q5_K_M": (FT.MOSTLY_Q5_K_M, T.Q5_K),
    "Q6_K": (FT.MOSTLY_Q6_K, T.Q6_K),
    "IQ4_NL": (FT.MOSTLY_IQ4_NL, T.IQ4_NL), "IQ4_XS": (FT.MOSTLY_IQ4_XS, T.IQ4_XS),
}
QUANT_FILE_TYPES = [k for k in FILE_TYPES if k not in ("F32", "F16", "BF16")]

# block size 256 types that cannot hold a row -> the 32-block type llama.cpp falls back to
_FALLBACK = {T.Q2_K: T.Q4_0, T.Q3_K: T.Q4_0, T.Q4_K: T.Q5_0, T.Q5_K: T.Q5_1, T.Q6_K: T.Q8_0,
             T.IQ4_XS: T.IQ4_NL}
_IQ4 = ("IQ4_NL", "IQ4_XS")
# The refining quantizer's Q4_K fallback: Q5_1 keeps a block minimum, as Q4_K's sub-blocks have,
# where Q5_0 cannot hold an offset grid (SmolLM2's 576-wide rows re-quantized from Q4_1 lost 5.6%
# of perplexity in Q5_0, ~0% in Q5_1 with the refining search).
_OFFSET_FALLBACK = {**_FALLBACK, T.Q4_K: T.Q5_1}
_FLOAT = (T.F32, T.F16, T.BF16)


def file_type(name: str):
    key = name.upper()
    if key not in FILE_TYPES:
        raise ConvertError(f"unknown quantization type {name!r} (supported: {', '.join(FILE_TYPES)})")
    return FILE_TYPES[key]


def block_size(t) -> int:
    return GGML_QUANT_SIZES[T(t)][0]


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


def allows_quantization(name: str, shape: tuple[int, ...]) -> bool:
    if len(shape) < 2:
        return False
    return (name.endswith("weight") and "_norm.weight" not in name
            and "ffn_gate_inp.weight" not in name and "altup" not in name
            and "laurel" not in name and "per_layer_model_proj" not in name
            and name not in ("position_embd.weight", "token_types.weight"))


def category(name: str) -> str:
    if name == "output.weight":
        return "output"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for key, cat in (("attn_qkv.weight", "attn_v"), ("attn_kv_b.weight", "attn_v"),
                     ("attn_v.weight", "attn_v"), ("attn_k.weight", "attn_k"),
                     ("attn_q.weight", "attn_q"), ("attn_output.weight", "attn_output"),
                     ("ffn_up", "ffn_up"), ("ffn_gate", "ffn_gate"), ("ffn_down", "ffn_down")):
        if key in name:
            return cat
    return "other"


def _layer_of(name: str) -> int:
    m = re.match(r"blk\.(\d+)\.", name)
    return int(m.group(1)) if m else -1


def llama_order(names) -> list[str]:
    """llama.cpp's weight order (layer number, then name): the counters below depend on it."""
    return sorted(names, key=lambda n: (_layer_of(n), n))


@dataclass
class MixState:
    ftype: str
    n_layer: int
    n_gqa: int = 1
    n_expert: int = 0
    n_attention_wv: int = 0
    tied: bool = True
    i_attention_wv: int = 0
    i_ffn_down: int = 0


def _pick(qs: MixState, t, name: str, shape, cat: str):
    ft, n_layer = qs.ftype, qs.n_layer
    if cat == "output" or (qs.tied and cat == "token_embd"):
        if shape[-1] % block_size(t) != 0:
            return T.Q8_0
        return t if t == T.Q8_0 else T.Q6_K
    if cat == "attn_v":
        if ft == "Q2_K":
            t = T.Q4_K if qs.n_gqa >= 4 else T.Q3_K
        elif ft == "Q3_K_M":
            t = T.Q5_K if qs.i_attention_wv < 2 else T.Q4_K
        elif ft in ("Q4_K_M", "Q5_K_M") and use_more_bits(qs.i_attention_wv, qs.n_attention_wv):
            t = T.Q6_K
        elif ft == "Q4_K_S" and qs.i_attention_wv < 4:
            t = T.Q5_K
        elif ft in _IQ4 and qs.n_gqa >= 4:
            t = T.Q5_K
        if qs.n_expert == 8:
            t = T.Q8_0
        qs.i_attention_wv += 1
    elif cat == "attn_k" and qs.n_expert == 8:
        t = T.Q8_0
    elif cat == "ffn_down":
        i_layer = _layer_of(name) if qs.n_expert > 1 else qs.i_ffn_down
        if ft == "Q2_K":
            t = T.Q3_K
        elif ft == "Q3_K_M":
            t = T.Q5_K if i_layer < n_layer // 16 else T.Q4_K
        elif ft == "Q4_K_M":
            if use_more_bits(i_layer, n_layer):
                t = T.Q6_K
        elif ft == "Q5_K_M" and use_more_bits(i_layer, n_layer):
            t = T.Q6_K
        elif ft == "Q4_K_S" and i_layer < n_layer // 8:
            t = T.Q5_K
        elif ft in _IQ4 and i_layer < n_layer // 8:   # (llama.cpp: only without an importance matrix)
            t = T.Q5_K
        qs.i_ffn_down += 1
    elif cat == "attn_output":
        if qs.n_expert == 8:
            if ft in ("Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M") + _IQ4:
                t = T.Q5_K
        elif ft == "Q2_K":
            t = T.Q3_K
        elif ft == "Q3_K_M":
            t = T.Q4_K
    return t


def fallback(t, ncols: int, offset_fallback: bool = False):
    if ncols % block_size(t) == 0:
        return t
    t = (_OFFSET_FALLBACK if offset_fallback else _FALLBACK).get(T(t))
    if t is None:
        raise ConvertError(f"no fallback type for a row of {ncols} elements")
    return t if ncols % block_size(t) == 0 else T.F16


def choose_types(tensors: dict[str, tuple[tuple[int, ...], int]], ftype: str, n_layer: int,
                 n_head: int = 1, n_head_kv: int = 1, n_expert: int = 0,
                 offset_fallback: bool = False) -> dict[str, int]:
    """{gguf name: (numpy shape, current ggml type)} -> {name: target ggml type}.

    offset_fallback: rows that Q4_K cannot hold take Q5_1 instead of llama-quantize's Q5_0.

    Float file types (F32/F16/BF16) follow convert_hf_to_gguf.py instead: 1-D tensors, norms
    and MoE routers stay F32, everything else takes the file type."""
    _, default = file_type(ftype)
    ftype = ftype.upper()
    names = llama_order(tensors)
    out: dict[str, int] = {}
    if default in _FLOAT:
        for n in names:
            shape, _cur = tensors[n]
            # the MoE router stays F32 too, as convert_hf_to_gguf.py keeps FFN_GATE_INP
            keep = len(shape) <= 1 or n.endswith(("_norm.weight", "ffn_gate_inp.weight"))
            out[n] = T.F32 if keep else default
        return out
    qs = MixState(ftype, n_layer, max(1, n_head // max(1, n_head_kv)), n_expert,
                  n_attention_wv=sum(category(n) == "attn_v" for n in names),
                  tied="output.weight" not in tensors)
    for n in names:
        shape, cur = tensors[n]
        if not allows_quantization(n, shape):
            out[n] = cur
            continue
        t = _pick(qs, default, n, shape, category(n))
        out[n] = fallback(t, shape[-1], offset_fallback)
    return out
