"""Which layers attend through a sliding window, for the architectures that alternate local and
global layers (Gemma 2 and 3): the metadata's per-layer pattern where it has one, else a period
(every period-th layer global, the rest local), as llama.cpp's load_swa_pattern reads it."""

from __future__ import annotations

from .metadata_values import MetadataValues


def set_sliding_layers(v: MetadataValues, hp: dict, period: int, default_window: int = 0) -> None:
    window = v.integer("attention.sliding_window", default_window)
    if not window:
        return
    hp["sliding_window"] = window
    pattern = v.raw("attention.sliding_window_pattern")
    if pattern is not None and hasattr(pattern, "__len__"):
        hp["layer_is_swa"] = [1 if p else 0 for p in pattern]
    else:
        period = v.integer("attention.sliding_window_pattern", period, lo=1) or period
        hp["layer_is_swa"] = [1 if il % period < period - 1 else 0 for il in range(hp["n_layer"])]
