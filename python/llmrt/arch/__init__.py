"""Architecture registry: general.architecture -> ArchSpec (one file per architecture)."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ModelError
from .base import ArchSpec
from .metadata_values import MetadataValues
from .gemma2 import GEMMA2
from .gemma3 import GEMMA3
from .llama import LLAMA
from .mixtral import MIXTRAL
from .phi3 import PHI3
from .qwen2 import QWEN2
from .qwen2moe import QWEN2MOE
from .qwen3 import QWEN3
from .qwen3moe import QWEN3MOE

REGISTRY: dict[str, ArchSpec] = {spec.name: spec for spec in (LLAMA, GEMMA2, GEMMA3, PHI3, QWEN2, QWEN3, QWEN2MOE, QWEN3MOE)}
# GGUF architectures whose MoE models share the name of the dense ones (llama.cpp writes
# Mixtral as "llama" with llama.expert_count > 0).
MOE_VARIANTS: dict[str, ArchSpec] = {"llama": MIXTRAL}


def lookup(name: str, metadata: Mapping[str, Any] | None = None) -> ArchSpec:
    try:
        spec = REGISTRY[name]
    except KeyError:
        supported = ", ".join(sorted(REGISTRY))
        raise ModelError(f"architecture {name!r} is not supported (supported: {supported})") from None
    if metadata and name in MOE_VARIANTS and MetadataValues(name, metadata).integer("expert_count", 0) > 0:
        return MOE_VARIANTS[name]
    return spec


__all__ = ["ArchSpec", "MOE_VARIANTS", "REGISTRY", "lookup"]
