"""RoPE divisors the converter computes from config.json rather than copies from the checkpoint:
Llama 3's frequency factors (rope_freqs.weight) and Phi-3's LongRoPE sets
(rope_factors_long/short.weight), written as llama.cpp's converter writes them."""

from __future__ import annotations

from ..errors import ConvertError
from .hf_metadata import rope_params


def llama3_rope_factors(cfg: dict):
    """Llama 3's long-context RoPE as per-frequency divisors (rope_freqs.weight, n_rot / 2
    float32), or None when the config has no llama3 scaling. Frequencies whose wavelength fits
    the original context many times keep their value, those longer than it are divided by
    `factor`, and the band between is interpolated."""
    import numpy as np

    rp = rope_params(cfg)
    rp = rp.get("full_attention", rp)
    if rp.get("rope_type") != "llama3":
        return None
    factor = float(rp["factor"])
    low, high = float(rp.get("low_freq_factor", 1.0)), float(rp.get("high_freq_factor", 4.0))
    old_ctx = float(rp["original_max_position_embeddings"])
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    freqs = 1.0 / float(rp.get("rope_theta", 10000.0)) ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    wavelen = 2 * np.pi / freqs
    smooth = (old_ctx / wavelen - low) / (high - low)
    out = np.where(wavelen < old_ctx / high, 1.0,
                   np.where(wavelen > old_ctx / low, factor, 1.0 / ((1 - smooth) / factor + smooth)))
    return out.astype(np.float32)


def longrope_factors(cfg: dict) -> dict:
    """Phi-3's LongRoPE divisors as the rope_factors_long/short tensors (n_rot / 2 each), as
    llama.cpp's converter writes them; {} without long-context scaling."""
    import numpy as np

    rp = rope_params(cfg)
    if rp.get("rope_type") not in ("longrope", "su") or not rp.get("long_factor"):
        return {}
    n_rot = int(rp.get("partial_rotary_factor", 1.0) * cfg["hidden_size"]) // cfg["num_attention_heads"]
    long, short = (np.asarray(rp[k], np.float32) for k in ("long_factor", "short_factor"))
    if long.shape != (n_rot // 2,) or short.shape != (n_rot // 2,):
        raise ConvertError(f"LongRoPE factors must have {n_rot // 2} values each")
    return {"rope_factors_long.weight": long, "rope_factors_short.weight": short}


def generated_tensors(cfg: dict) -> dict:
    """Tensors the converter computes from config.json rather than copies: RoPE divisors."""
    out = longrope_factors(cfg)
    factors = llama3_rope_factors(cfg)
    if factors is not None:
        out["rope_freqs.weight"] = factors
    return out
