"""The architecture table: every ArchSpec registers itself here from its own file, and every
list of architectures (loader, converter, random-model generator, CLI help) is read from it."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ModelError
from .base import ArchSpec
from .metadata_values import MetadataValues
from .shape import Shape

# general.architecture -> spec
REGISTRY: dict[str, ArchSpec] = {}
# GGUF architectures whose MoE models share the name of the dense ones (llama.cpp writes
# Mixtral as "llama" with llama.expert_count > 0): name -> the MoE spec.
MOE_VARIANTS: dict[str, ArchSpec] = {}


def register(spec: ArchSpec, moe_variant_of: str | None = None) -> ArchSpec:
    """Add an architecture. `moe_variant_of`: the dense GGUF architecture whose files with an
    expert_count > 0 this spec runs instead."""
    table, key = (MOE_VARIANTS, moe_variant_of) if moe_variant_of else (REGISTRY, spec.name)
    if key in table and table[key] is not spec:
        raise ModelError(f"architecture {key!r} is registered twice")
    table[key] = spec
    return spec


def unregister(spec: ArchSpec) -> None:
    for table in (REGISTRY, MOE_VARIANTS):
        for key in [k for k, v in table.items() if v is spec]:
            del table[key]


def all_specs() -> list[ArchSpec]:
    return [*REGISTRY.values(), *MOE_VARIANTS.values()]


def lookup(name: str, metadata: Mapping[str, Any] | None = None) -> ArchSpec:
    try:
        spec = REGISTRY[name]
    except KeyError:
        supported = ", ".join(sorted(REGISTRY))
        raise ModelError(f"architecture {name!r} is not supported (supported: {supported})") from None
    if metadata and name in MOE_VARIANTS and MetadataValues(name, metadata).integer("expert_count", 0) > 0:
        return MOE_VARIANTS[name]
    return spec


def hf_architectures() -> dict[str, ArchSpec]:
    """config.json architecture name -> the spec converting it."""
    return {hf: s for s in all_specs() if s.convert for hf in s.convert.architectures}


def random_models() -> dict[str, ArchSpec]:
    """`convert --random --arch` name -> spec."""
    return {s.random.name: s for s in all_specs() if s.random}


def random_presets() -> dict[str, Shape]:
    return {name: shape for s in all_specs() if s.random for name, shape in s.random.presets.items()}
