"""The last check of a hyperparameter dict before it reaches the native core: every field in the
range the decoder can compute with, including those an architecture's `customize` hook derived
from keys of its own (sliding windows, SWA RoPE base, embedding scale)."""

from __future__ import annotations

import math

from ..errors import ModelError
from .metadata_values import INT32_MAX

# field: smallest allowed value (all are at most INT32_MAX)
INT_FIELDS = {"n_vocab": 0, "n_embd": 1, "n_layer": 1, "n_head": 1, "n_head_kv": 1, "head_dim_k": 1,
              "head_dim_v": 1, "n_ff": 0, "n_rot": 2, "sliding_window": 0, "n_expert": 0,
              "n_expert_used": 0, "expert_group_count": 0, "expert_group_used_count": 0,
              "n_ctx_train": 0}
# field: (minimum, whether the minimum itself is excluded); all must be finite as float32 (the
# native type). A RoPE base below 1 turns its decaying frequencies into growing ones.
FLOAT32_MAX = 3.4028234663852886e38
FLOAT_FIELDS = {"rms_eps": (0.0, True), "rope_base": (1.0, False), "rope_scale": (0.0, True),
                "rope_base_swa": (1.0, False), "rope_scale_swa": (0.0, True), "embd_scale": (0.0, True),
                "attn_scale": (0.0, False), "attn_softcap": (0.0, False), "final_softcap": (0.0, False),
                "expert_weights_scale": (0.0, True)}

def check_hparams(arch: str, hp: dict) -> None:
    for field, lo in INT_FIELDS.items():
        value = hp.get(field, lo)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= INT32_MAX:
            raise ModelError(f"{arch}: hyperparameter {field} = {value!r} is outside {lo}..{INT32_MAX}")
    for field, (minimum, exclusive) in FLOAT_FIELDS.items():
        value = hp.get(field, 1.0)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value > FLOAT32_MAX or \
                value < minimum or (exclusive and value == minimum):
            need = f"a finite float32 {'>' if exclusive else '>='} {minimum}"
            raise ModelError(f"{arch}: hyperparameter {field} = {value!r} must be {need}")
    swa = hp.get("layer_is_swa") or []
    if swa and len(swa) != hp["n_layer"]:
        raise ModelError(f"{arch}: the sliding-window layer pattern has {len(swa)} entries "
                         f"for {hp['n_layer']} layers")
    if swa and any(swa) and hp["sliding_window"] == 0:
        raise ModelError(f"{arch}: layers are marked sliding-window but the window is 0")
