"""Safetensors checkpoints read through memory maps, one tensor (or one row block) at a time.

The safetensors format is an 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}} and the raw data; we parse the header ourselves and map the
data with NumPy, so converting never holds more than the block being written (bf16 included,
which NumPy has no dtype for: it is widened to float32 by a 16-bit shift).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConvertError

_DTYPES = {
    "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"), "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("u1"),
}


@dataclass(frozen=True)
class SourceTensor:
    name: str
    file: Path
    dtype: str             # safetensors dtype name ("BF16", "F32", ...)
    shape: tuple[int, ...]
    offset: int            # absolute byte offset of the data in `file`

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.n_elements * _DTYPES[self.dtype].itemsize


def read_header(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except (OSError, struct.error, ValueError) as e:
        raise ConvertError(f"{path}: not a readable safetensors file ({e})") from None
    header.pop("__metadata__", None)
    header["__data_start__"] = 8 + n
    return header


class SafetensorsCheckpoint:
    """All tensors of a model directory (one file, or shards listed by the index file)."""

    def __init__(self, model_dir: str | Path):
        self.dir = Path(model_dir)
        self.tensors: dict[str, SourceTensor] = {}
        self._maps: dict[Path, np.memmap] = {}
        for path in self._files():
            header = read_header(path)
            start = header.pop("__data_start__")
            for name, info in header.items():
                if info["dtype"] not in _DTYPES:
                    raise ConvertError(f"{path.name}: tensor {name!r} has unsupported dtype {info['dtype']}")
                begin, end = info["data_offsets"]
                t = SourceTensor(name, path, info["dtype"], tuple(int(s) for s in info["shape"]), start + begin)
                if t.nbytes != end - begin:
                    raise ConvertError(f"{path.name}: tensor {name!r} shape {t.shape} does not match "
                                       f"its {end - begin} bytes")
                self.tensors[name] = t

    def _files(self) -> list[Path]:
        index = self.dir / "model.safetensors.index.json"
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            files = sorted(set(weight_map.values()))
            missing = [f for f in files if not (self.dir / f).is_file()]
            if missing:
                raise ConvertError(f"{self.dir}: shards missing: {', '.join(missing)} "
                                   f"(listed in {index.name})")
            return [self.dir / f for f in files]
        files = sorted(self.dir.glob("*.safetensors"))
        if not files:
            raise ConvertError(f"{self.dir}: no *.safetensors files (only safetensors checkpoints "
                               "are supported)")
        return files

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def names(self) -> list[str]:
        return list(self.tensors)

    def _raw(self, t: SourceTensor) -> np.ndarray:
        mm = self._maps.get(t.file)
        if mm is None:
            mm = self._maps[t.file] = np.memmap(t.file, dtype=np.uint8, mode="r")
        dt = _DTYPES[t.dtype]
        return mm[t.offset:t.offset + t.nbytes].view(dt).reshape(t.shape)

    def rows(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows [start, stop) of a tensor (dim 0) as float32; a 1-D tensor's elements."""
        t = self.tensors[name]
        raw = self._raw(t)
        if raw.ndim == 0:
            raw = raw.reshape(1)
        raw = raw[start:stop]
        if t.dtype == "BF16":
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return raw.astype(np.float32)

    def load(self, name: str) -> np.ndarray:
        return self.rows(name)

    def close(self) -> None:
        self._maps.clear()


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF's rotate-half Q/K rows -> GGUF's interleaved-pair order (llama.cpp's `permute`).

    Each head's rows [first half; second half] become pairs (r0, r_half), (r1, r_half+1), ...
    The operation is per head, so `w` may be any whole number of heads (row blocks stream)."""
    rows = w.shape[0]
    if rows % n_head or (rows // n_head) % 2:
        raise ConvertError(f"cannot permute Q/K rows: {rows} rows for {n_head} heads")
    return (w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


class NameMap:
    """HF tensor name -> GGUF name through a table with "{}" standing for the layer index and
    "{x}" for an expert index (per-expert HF tensors that stack into one GGUF tensor)."""

    def __init__(self, table: dict[str, str]):
        self.exact = {k: v for k, v in table.items() if "{}" not in k and "{x}" not in k}
        self.patterns = [(re.compile("^" + re.escape(k).replace(r"\{\}", r"(?P<il>\d+)")
                                     .replace(r"\{x\}", r"(?P<x>\d+)") + "$"), v)
                         for k, v in table.items() if k not in self.exact]

    def __call__(self, name: str) -> tuple[str, int | None, int | None] | None:
        """(gguf name, layer index or None, expert index or None), or None for a name the
        table does not know."""
        if name in self.exact:
            return self.exact[name], None, None
        for pat, out in self.patterns:
            m = pat.match(name)
            if m:
                groups = m.groupdict()
                il = int(groups["il"]) if groups.get("il") is not None else None
                x = int(groups["x"]) if groups.get("x") is not None else None
                return (out.format(il) if il is not None else out), il, x
        return None
