"""Read GGUF files: metadata, tensor table and zero-copy tensor bytes.

The parsing and validation happen in the native core (csrc/gguf/); this module only wraps the
result in Python types. Any malformed file raises :class:`llmrt.GGUFError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core

__all__ = ["GGUFFile", "TensorInfo"]


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor table."""

    name: str
    type: int  # ggml type id
    type_name: str  # "Q4_K", "F32", ...
    shape: tuple[int, ...]  # ne0 first (contiguous row length), as the gguf package reports it
    offset: int  # bytes from the start of the data section
    nbytes: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


class GGUFFile:
    """A memory-mapped GGUF file (versions 2 and 3).

    ``metadata`` is a dict in file order: scalars as int/float/bool/str, arrays of numbers or
    bools as read-only NumPy arrays of the matching dtype, arrays of strings as ``list[str]``
    and arrays of arrays as lists of (converted) arrays. Strings that are not valid UTF-8 keep
    their bytes as surrogate escapes.
    """

    def __init__(self, path: str | os.PathLike[str], *, _native: Any = None):
        if _native is None:
            path = os.fspath(path)
            if not os.path.exists(path):
                raise FileNotFoundError(2, "No such file or directory", path)
            _native = _core.GGUFFile(path)
        self._native = _native
        self._metadata: dict[str, Any] | None = None
        self._tensors: list[TensorInfo] | None = None
        self._by_name: dict[str, TensorInfo] | None = None

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> GGUFFile:
        """Parse an in-memory GGUF image (a private copy is kept)."""
        return cls(name, _native=_core.GGUFFile.from_bytes(bytes(data), name))

    # -- header -------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self._native.path

    @property
    def version(self) -> int:
        return self._native.version

    @property
    def alignment(self) -> int:
        return self._native.alignment

    @property
    def data_offset(self) -> int:
        """Byte offset of the data section in the file."""
        return self._native.data_offset

    @property
    def file_size(self) -> int:
        return self._native.file_size

    # -- metadata -----------------------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            self._metadata = self._native.metadata()
        return self._metadata

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    # -- tensors ------------------------------------------------------------------------------
    @property
    def tensors(self) -> list[TensorInfo]:
        if self._tensors is None:
            self._tensors = [TensorInfo(*t) for t in self._native.tensors()]
            self._by_name = {t.name: t for t in self._tensors}
        return self._tensors

    def tensor(self, name: str) -> TensorInfo:
        """The tensor called `name`; KeyError when there is none."""
        self.tensors
        assert self._by_name is not None
        return self._by_name[name]

    def tensor_data(self, name: str) -> np.ndarray:
        """Raw bytes of a tensor as a read-only uint8 view into the mapping (no copy)."""
        return self._native.tensor_data(name)

    def __contains__(self, name: str) -> bool:
        self.tensors
        assert self._by_name is not None
        return name in self._by_name

    def __repr__(self) -> str:
        return (f"GGUFFile({self.path!r}, version={self.version}, "
                f"{len(self.tensors)} tensors, {len(self.metadata)} metadata keys)")
