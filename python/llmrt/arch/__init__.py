"""Architecture registry: general.architecture -> ArchSpec. Each architecture is one module of
this package that builds an ArchSpec and calls register(); importing the package imports every
module, so adding an architecture is adding one file (docs/architecture.md, "Where changes go")."""

from __future__ import annotations

import importlib
import pkgutil

from .base import ArchSpec
from .registry import (MOE_VARIANTS, REGISTRY, all_specs, hf_architectures, lookup, random_models,
                       random_presets, register, unregister)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["ArchSpec", "MOE_VARIANTS", "REGISTRY", "all_specs", "hf_architectures", "lookup",
           "random_models", "random_presets", "register", "unregister"]
