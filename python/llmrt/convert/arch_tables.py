"""HF -> GGUF tensor names for architectures whose ArchSpec lives on another branch.

qwen2, qwen3 (and mistral, which converts to GGUF arch "llama") get their ArchSpec files in
python/llmrt/arch/ on branch `arch`; until that lands, their converter tables live here so the
two branches don't touch the same files. Move each table into its ArchSpec's `hf_names` then.
"""

from ..arch.llama import LLAMA

_LLAMA = dict(LLAMA.hf_names)

QWEN2_HF_NAMES = {
    **_LLAMA,
    "model.layers.{}.self_attn.q_proj.bias": "blk.{}.attn_q.bias",
    "model.layers.{}.self_attn.k_proj.bias": "blk.{}.attn_k.bias",
    "model.layers.{}.self_attn.v_proj.bias": "blk.{}.attn_v.bias",
}

QWEN3_HF_NAMES = {
    **_LLAMA,
    "model.layers.{}.self_attn.q_norm.weight": "blk.{}.attn_q_norm.weight",
    "model.layers.{}.self_attn.k_norm.weight": "blk.{}.attn_k_norm.weight",
}
