"""config.json handling for the converter: reading it, and finding the registered
architecture (ArchSpec.convert) that converts it."""

from __future__ import annotations

import json
from pathlib import Path

from ..arch import ArchSpec, hf_architectures
from .errors import ConvertError


def load_config(model_dir: str | Path) -> dict:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ConvertError(f"{model_dir}: no config.json (is this a Hugging Face checkpoint directory?)")
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if "text_config" in cfg:  # multimodal wrappers: the language model's settings at the top
        cfg = {**cfg, **cfg["text_config"]}
    return cfg


def lookup(cfg: dict) -> tuple[str, ArchSpec]:
    """(config.json architecture name, the ArchSpec converting it)."""
    table = hf_architectures()
    names = cfg.get("architectures") or []
    for n in names:
        if n in table:
            return n, table[n]
    raise ConvertError(f"architecture {', '.join(names) or '(none in config.json)'} is not "
                       f"supported by llmrt convert (supported: {', '.join(sorted(table))})")


def normalize_hf_name(name: str) -> str | None:
    """Strip multimodal wrappers' prefixes; None for tensors of other towers (vision, audio)."""
    for prefix in ("model.language_model.", "language_model.model."):
        if name.startswith(prefix):
            return "model." + name[len(prefix):]
    if name.startswith("language_model.lm_head."):
        return name[len("language_model."):]
    if name.startswith(("vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                        "model.multi_modal_projector.", "vision_model.", "multimodal_projector.")):
        return None
    return name
