"""A GGUF file as editable Python values, written back byte by byte: the fuzz tests change a
key's value or type, a tensor's type, shape or offset, and serialize the result exactly as
given (no consistency fixes), which the gguf package's writer would not allow."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

from gguf import GGUFReader, GGUFValueType as V

SCALAR_FORMATS = {V.UINT8: "<B", V.INT8: "<b", V.UINT16: "<H", V.INT16: "<h", V.UINT32: "<I",
                  V.INT32: "<i", V.FLOAT32: "<f", V.BOOL: "<?", V.UINT64: "<Q", V.INT64: "<q",
                  V.FLOAT64: "<d"}


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]     # ne0 first
    type: int                  # ggml type id
    data: bytes
    offset: int | None = None  # None: laid out after the previous tensor


@dataclass
class Image:
    kv: dict[str, tuple[tuple, object]]   # key -> ((value type, [element type]), value)
    tensors: list[Tensor] = field(default_factory=list)
    alignment: int = 32

    @classmethod
    def read(cls, path) -> "Image":
        r = GGUFReader(str(path))
        kv = {k: (tuple(f.types), f.contents()) for k, f in r.fields.items() if not k.startswith("GGUF.")}
        tensors = [Tensor(t.name, tuple(int(d) for d in t.shape), int(t.tensor_type), t.data.tobytes())
                   for t in r.tensors]
        return cls(kv, tensors)

    def copy(self) -> "Image":
        return Image(dict(self.kv), list(self.tensors), self.alignment)

    def set(self, key: str, value, vtype: V) -> "Image":
        self.kv[key] = ((vtype,), value)
        return self

    def edit_tensor(self, name: str, **changes) -> "Image":
        self.tensors = [replace(t, **changes) if t.name == name else t for t in self.tensors]
        return self

    def to_bytes(self) -> bytes:
        out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
        for key, (types, value) in self.kv.items():
            out += _string(key) + struct.pack("<I", types[0]) + _value(types, value)
        natural, pos = [], 0   # tensors' data lie in order, each aligned
        for t in self.tensors:
            natural.append(pos)
            pos = _align(pos + len(t.data), self.alignment)
        for t, off in zip(self.tensors, natural):
            out += _string(t.name) + struct.pack("<I", len(t.shape))
            out += b"".join(struct.pack("<q", d) for d in t.shape)
            out += struct.pack("<IQ", t.type, off if t.offset is None else t.offset)
        out += bytes(_align(len(out), self.alignment) - len(out))
        data = bytearray(pos)
        for t, off in zip(self.tensors, natural):
            data[off:off + len(t.data)] = t.data
        return bytes(out + data)


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _string(s: str) -> bytes:
    b = s.encode("utf-8", "surrogateescape")
    return struct.pack("<Q", len(b)) + b


def _value(types: tuple, value) -> bytes:
    vtype = types[0]
    if vtype == V.STRING:
        return _string(value)
    if vtype == V.ARRAY:
        items = list(value)
        head = struct.pack("<IQ", types[1], len(items))
        return head + b"".join(_value(types[1:], x) for x in items)
    if vtype in (V.FLOAT32, V.FLOAT64):
        return struct.pack(SCALAR_FORMATS[vtype], float(value))
    return struct.pack(SCALAR_FORMATS[vtype], int(value) if vtype != V.BOOL else bool(value))


def header_size(image: Image) -> int:
    """Bytes before the data section: the metadata and tensor-info region."""
    blob = Image(image.kv, [replace(t, data=b"") for t in image.tensors], image.alignment).to_bytes()
    return len(blob)

