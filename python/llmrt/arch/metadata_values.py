"""Typed, range-checked reads of an architecture's hyperparameter keys.

Model files come from anywhere: a key may hold a string where a count belongs, a count of zero
or 2^32-1, a NaN. Every value the loader reads goes through here, so a bad one is a ModelError
naming the key instead of a division by zero, a failed cast to the native int, or a model that
loads and computes garbage.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..errors import ModelError

INT32_MAX = 2**31 - 1  # the native HParams fields are C ints


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class MetadataValues:
    """Reads `<arch>.<suffix>` keys of one file's metadata."""

    def __init__(self, arch: str, metadata: Mapping[str, Any]):
        self.arch = arch
        self.md = metadata

    def key(self, suffix: str) -> str:
        return f"{self.arch}.{suffix}"

    def has(self, suffix: str) -> bool:
        return self.key(suffix) in self.md

    def fail(self, suffix: str, problem: str) -> ModelError:
        return ModelError(f"{self.arch}: metadata key {self.key(suffix)!r} = "
                          f"{_shown(self.md.get(self.key(suffix)))} {problem}")

    def raw(self, suffix: str, default: Any = None, required: bool = False) -> Any:
        key = self.key(suffix)
        if key in self.md:
            return self.md[key]
        if required:
            raise ModelError(f"{self.arch}: metadata key {key!r} is missing")
        return default

    def integer(self, suffix: str, default: int | None = None, lo: int = 0, hi: int = INT32_MAX,
                required: bool = False) -> int:
        """An integer in lo..hi; `default` (unchecked) when the key is absent."""
        if not self.has(suffix):
            self.raw(suffix, required=required)
            return default
        value = self.md[self.key(suffix)]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(suffix, f"is a {type(value).__name__}, not an integer")
        if not lo <= value <= hi:
            raise self.fail(suffix, f"is outside {lo}..{hi}")
        return value

    def real(self, suffix: str, default: float, minimum: float = 0.0, positive: bool = False,
             below: float | None = None) -> float:
        """A finite number >= minimum (> minimum when `positive`, < `below` when given);
        `default` (unchecked) when the key is absent."""
        if not self.has(suffix):
            return default
        value = self.md[self.key(suffix)]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(suffix, f"is a {type(value).__name__}, not a number")
        value = float(value)
        if not math.isfinite(value):
            raise self.fail(suffix, "is not finite")
        if value < minimum or (positive and value == minimum):
            raise self.fail(suffix, f"must be {'>' if positive else '>='} {minimum}")
        if below is not None and value >= below:
            raise self.fail(suffix, f"must be below {below}")
        return value
