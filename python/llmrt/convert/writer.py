"""GGUF output written one tensor (and one row block) at a time.

The `gguf` package's GGUFWriter writes the header, the metadata and the tensor table; the data
section is then streamed here block by block, with the writer's alignment, so no tensor is ever
held whole in its output form unless it is smaller than a block.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

from .errors import ConvertError


def nbytes_of(shape: tuple[int, ...], ggml_type: int) -> int:
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if n % block:
        raise ConvertError(f"{n} elements are not a whole number of {GGMLQuantizationType(ggml_type).name} blocks")
    return n // block * size


class StreamWriter:
    def __init__(self, path: str | Path, arch: str):
        self.path = Path(path)
        self.gguf = GGUFWriter(None, arch)   # add metadata through .gguf before begin()
        self._order: list[tuple[str, int]] = []
        self._current: tuple[str, int] | None = None
        self._written = 0

    def add_tensor(self, name: str, shape: tuple[int, ...], ggml_type: int) -> int:
        nbytes = nbytes_of(shape, ggml_type)
        self.gguf.add_tensor_info(name, list(shape), np.dtype(np.float32), nbytes,
                                  raw_dtype=GGMLQuantizationType(ggml_type))
        self._order.append((name, nbytes))
        return nbytes

    def begin(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.gguf.write_header_to_file(self.path)
        self.gguf.write_kv_data_to_file()
        self.gguf.write_ti_data_to_file()
        self._fout = self.gguf.fout[0]
        self._next = 0

    def start_tensor(self, name: str) -> None:
        expected, nbytes = self._order[self._next]
        if name != expected:
            raise ConvertError(f"tensor {name!r} written out of order (expected {expected!r})")
        self.gguf.write_padding(self._fout, self._fout.tell())
        self._current, self._written = (name, nbytes), 0

    def write(self, data: np.ndarray | bytes) -> None:
        buf = memoryview(np.ascontiguousarray(data)).cast("B") if isinstance(data, np.ndarray) else data
        self._fout.write(buf)
        self._written += len(buf)

    def end_tensor(self) -> None:
        name, nbytes = self._current
        if self._written != nbytes:
            raise ConvertError(f"tensor {name!r}: wrote {self._written} bytes, expected {nbytes}")
        self.gguf.write_padding(self._fout, nbytes)
        self._next += 1
        self._current = None

    def close(self) -> None:
        if self._next != len(self._order):
            raise ConvertError(f"{self.path}: only {self._next} of {len(self._order)} tensors written")
        self.gguf.close()
