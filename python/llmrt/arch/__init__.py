"""Architecture registry: general.architecture -> ArchSpec (one file per architecture)."""

from __future__ import annotations

from ..errors import ModelError
from .base import ArchSpec
from .gemma3 import GEMMA3
from .llama import LLAMA
from .qwen2 import QWEN2
from .qwen3 import QWEN3

REGISTRY: dict[str, ArchSpec] = {spec.name: spec for spec in (LLAMA, GEMMA3, QWEN2, QWEN3)}


def lookup(name: str) -> ArchSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        supported = ", ".join(sorted(REGISTRY))
        raise ModelError(f"architecture {name!r} is not supported (supported: {supported})") from None


__all__ = ["ArchSpec", "REGISTRY", "lookup"]
