"""llmrt.GGUFFile: parsing checked against gguf.GGUFWriter input and gguf.GGUFReader, and
validation of malformed files (every truncation, random byte flips; targeted corruptions are
in test_gguf_corrupt.py)."""

from __future__ import annotations

import mmap
import random
import struct

import gguf
import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

from llmrt.errors import GGUFError
from llmrt.gguf_file import GGUFFile

# ---------------------------------------------------------------------------------------------
# A small file written by gguf.GGUFWriter with every value type and a few tensor types.

SCALARS = [  # (key, value type, value)
    ("t.u8", VT.UINT8, 200), ("t.i8", VT.INT8, -100), ("t.u16", VT.UINT16, 60000),
    ("t.i16", VT.INT16, -30000), ("t.u32", VT.UINT32, 4_000_000_000),
    ("t.i32", VT.INT32, -2_000_000_000), ("t.f32", VT.FLOAT32, 1.5),
    ("t.u64", VT.UINT64, 2**63 + 5), ("t.i64", VT.INT64, -(2**62)),
    ("t.f64", VT.FLOAT64, 3.141592653589793), ("t.true", VT.BOOL, True),
    ("t.false", VT.BOOL, False), ("t.str", VT.STRING, "héllo ☃"), ("t.empty", VT.STRING, ""),
]
NUMERIC_ARRAYS = [  # (key, element type, values, numpy dtype)
    ("a.u8", VT.UINT8, [0, 1, 255], np.uint8), ("a.i8", VT.INT8, [-128, 0, 127], np.int8),
    ("a.u16", VT.UINT16, [1, 65535], np.uint16), ("a.i16", VT.INT16, [-5, 5], np.int16),
    ("a.u32", VT.UINT32, [7, 2**32 - 1], np.uint32), ("a.i32", VT.INT32, [1, -2, 3], np.int32),
    ("a.f32", VT.FLOAT32, [0.5, -1.25, 3.0], np.float32),
    ("a.bool", VT.BOOL, [True, False, True], np.bool_),
    ("a.u64", VT.UINT64, [2**64 - 1], np.uint64), ("a.i64", VT.INT64, [-(2**63), 9], np.int64),
    ("a.f64", VT.FLOAT64, [1e300, -2.5], np.float64),
]
STRING_ARRAY = ["a", "bc", "☃", ""]
NESTED = [[1, 2], [3]]
NESTED_STR = [["x"], ["y", "z"]]
ALIGNMENT = 64

rng0 = np.random.default_rng(0)
TENSORS = {  # name -> (array as written, raw ggml type or None, expected ne, type name)
    "w.f32": (rng0.standard_normal((3, 4)).astype(np.float32), None, (4, 3), "F32"),
    "w.f16": (rng0.standard_normal(8).astype(np.float16), None, (8,), "F16"),
    "w.q8_0": (rng0.integers(0, 256, (2, 34), dtype=np.uint8), QT.Q8_0, (32, 2), "Q8_0"),
    "w.i32": (np.arange(5, dtype=np.int32), None, (5,), "I32"),
}


def write_small(path):
    w = gguf.GGUFWriter(path, "testarch")
    w.add_custom_alignment(ALIGNMENT)
    for key, vt, val in SCALARS:
        w.add_key_value(key, val, vt)
    for key, et, vals, _ in NUMERIC_ARRAYS:
        w.add_key_value(key, vals, VT.ARRAY, sub_type=et)
    w.add_array("a.str", STRING_ARRAY)
    w.add_array("a.nested", NESTED)
    w.add_array("a.nested_str", NESTED_STR)
    for name, (arr, raw, _, _) in TENSORS.items():
        w.add_tensor(name, arr, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("gguf") / "small.gguf"
    write_small(p)
    return p


@pytest.fixture(scope="module")
def small_bytes(small_path):
    return small_path.read_bytes()


def data_end(f: GGUFFile) -> int:
    return f.data_offset + max(t.offset + t.nbytes for t in f.tensors)


def test_small_header(small_path, small_bytes):
    f = GGUFFile(small_path)
    assert f.version == 3
    assert f.alignment == ALIGNMENT
    assert f.data_offset % ALIGNMENT == 0
    assert f.file_size == len(small_bytes)
    assert f.path == str(small_path)
    assert 1000 < len(small_bytes) < 3000


def test_small_metadata_matches_writer(small_path):
    md = GGUFFile(small_path).metadata
    expected_keys = (["general.architecture", "general.alignment"] + [k for k, _, _ in SCALARS]
                     + [k for k, *_ in NUMERIC_ARRAYS] + ["a.str", "a.nested", "a.nested_str"])
    assert list(md) == expected_keys
    assert md["general.architecture"] == "testarch"
    assert md["general.alignment"] == ALIGNMENT
    for key, _, val in SCALARS:
        assert md[key] == val and type(md[key]) is type(val), key
    for key, _, vals, dtype in NUMERIC_ARRAYS:
        arr = md[key]
        assert isinstance(arr, np.ndarray) and arr.dtype == dtype, key
        np.testing.assert_array_equal(arr, np.array(vals, dtype=dtype))
        assert not arr.flags.writeable
    assert md["a.str"] == STRING_ARRAY
    assert [a.tolist() for a in md["a.nested"]] == NESTED
    assert all(a.dtype == np.int32 for a in md["a.nested"])
    assert md["a.nested_str"] == NESTED_STR
    f = GGUFFile(small_path)
    assert f.metadata is f.metadata  # converted once


def test_small_tensors_match_writer(small_path):
    f = GGUFFile(small_path)
    assert [t.name for t in f.tensors] == list(TENSORS)
    for name, (arr, raw, ne, type_name) in TENSORS.items():
        t = f.tensor(name)
        assert t.shape == ne and t.type_name == type_name
        assert t.type == int(raw if raw is not None else {"F32": QT.F32, "F16": QT.F16,
                                                          "I32": QT.I32}[type_name])
        assert t.offset % ALIGNMENT == 0
        assert t.nbytes == arr.nbytes
        data = f.tensor_data(name)
        assert data.dtype == np.uint8 and not data.flags.writeable
        assert data.tobytes() == arr.tobytes()
    with pytest.raises(KeyError):
        f.tensor("nope")
    with pytest.raises(KeyError):
        f.tensor_data("nope")


def test_tensor_data_keeps_file_alive(small_path):
    f = GGUFFile(small_path)
    view = f.tensor_data("w.f32")
    expected = TENSORS["w.f32"][0].tobytes()
    del f
    import gc
    gc.collect()
    assert view.tobytes() == expected
    with pytest.raises(ValueError):
        view[0] = 1


def flatten(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, list):
        out = []
        for x in v:
            out.extend(flatten(x)) if isinstance(x, (list, np.ndarray)) else out.append(x)
        return out
    return v


def test_small_agrees_with_gguf_reader(small_path):
    r = gguf.GGUFReader(small_path)
    f = GGUFFile(small_path)
    fields = {k: v for k, v in r.fields.items() if not k.startswith("GGUF.")}
    assert list(fields) == list(f.metadata)
    for key, field in fields.items():
        assert flatten(f.metadata[key]) == field.contents(), key  # the reader flattens nesting
    assert r.alignment == f.alignment
    compare_tensors(r, f, check_data=True)


def test_from_bytes_equals_file(small_path, small_bytes):
    a, b = GGUFFile(small_path), GGUFFile.from_bytes(small_bytes, "mem.gguf")
    assert b.path == "mem.gguf"
    assert list(a.metadata) == list(b.metadata)
    assert a.tensors == b.tensors
    assert a.data_offset == b.data_offset
    assert b.tensor_data("w.q8_0").tobytes() == a.tensor_data("w.q8_0").tobytes()


def test_version_2_and_default_alignment(tmp_path):
    # GGUFWriter always writes version 3; v2 has the identical layout, so patch the field.
    w = gguf.GGUFWriter(tmp_path / "v.gguf", "x")
    w.add_tensor("t", np.ones(3, np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    data = bytearray((tmp_path / "v.gguf").read_bytes())
    data[4:8] = struct.pack("<I", 2)
    f = GGUFFile.from_bytes(bytes(data))
    assert f.version == 2 and f.alignment == 32 and f.data_offset % 32 == 0
    assert f.tensor_data("t").view(np.float32).tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------------------------------------
# The real models against gguf.GGUFReader.

class FastReader(gguf.GGUFReader):
    """GGUFReader that maps numeric arrays as one view and walks string arrays with struct.

    The stock reader builds one NumPy view per array element (about 30 s for both models'
    vocabularies); everything else (header, key framing, scalars, tensor infos) is its own code.
    """

    def __init__(self, path):
        self._file = open(path, "rb")
        self._mm = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        super().__init__(path)

    def _get_field_parts(self, orig_offs, raw_type):
        if VT(raw_type) != VT.ARRAY:
            return super()._get_field_parts(orig_offs, raw_type)
        itype, n = struct.unpack_from("<IQ", self._mm, orig_offs)
        offs = orig_offs + 12
        if itype == VT.STRING:
            strings = []
            for _ in range(n):
                (ln,) = struct.unpack_from("<Q", self._mm, offs)
                strings.append(self._mm[offs + 8:offs + 8 + ln].decode("utf-8"))
                offs += 8 + ln
            return offs - orig_offs, [strings], [0], [VT.ARRAY, VT.STRING]
        if itype == VT.ARRAY:
            return super()._get_field_parts(orig_offs, raw_type)
        vals = self._get(offs, self.gguf_scalar_to_np[VT(itype)], n)
        return 12 + vals.nbytes, [vals], [0], [VT.ARRAY, VT(itype)]


def fast_reader_value(field):
    if field.types[0] == VT.ARRAY and len(field.types) == 2:
        return field.parts[field.data[0]]  # list[str] or ndarray, as built above
    return field.contents()


def compare_tensors(r, f, check_data=False):
    assert len(r.tensors) == len(f.tensors)
    for rt, t in zip(r.tensors, f.tensors):
        assert t.name == rt.name
        assert t.type == int(rt.tensor_type) and t.type_name == rt.tensor_type.name
        assert t.shape == tuple(int(d) for d in rt.shape)
        assert t.nbytes == rt.n_bytes
        assert f.data_offset + t.offset == rt.data_offset
        if check_data:
            assert f.tensor_data(t.name).tobytes() == rt.data.tobytes()


@pytest.mark.parametrize("fixture", ["smollm2_path", "gemma3_path"])
def test_real_model_agrees_with_gguf_reader(fixture, request):
    path = request.getfixturevalue(fixture)
    r = FastReader(path)
    f = GGUFFile(path)
    fields = {k: v for k, v in r.fields.items() if not k.startswith("GGUF.")}
    assert list(fields) == list(f.metadata)
    assert f.version == r.fields["GGUF.version"].contents()
    assert f.alignment == r.alignment
    for key, field in fields.items():
        ours, theirs = f.metadata[key], fast_reader_value(field)
        if isinstance(theirs, np.ndarray):
            assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype.newbyteorder("=")
            np.testing.assert_array_equal(ours, theirs)
        else:
            assert ours == theirs, key
    assert len(f.metadata["tokenizer.ggml.tokens"]) == len(fast_reader_value(fields["tokenizer.ggml.tokens"]))
    compare_tensors(r, f)
    # bytes of a few tensors (first, a middle one, last)
    for rt in (r.tensors[0], r.tensors[len(r.tensors) // 2], r.tensors[-1]):
        ours = f.tensor_data(rt.name)
        theirs = np.frombuffer(r._mm, np.uint8, rt.n_bytes, rt.data_offset)
        assert np.array_equal(ours, theirs)


# ---------------------------------------------------------------------------------------------
# Malformed input: every truncation, random byte flips.

def test_every_truncation(small_bytes):
    end = data_end(GGUFFile.from_bytes(small_bytes))
    for n in range(len(small_bytes) + 1):
        if n < end:
            with pytest.raises(GGUFError, match="cut.gguf"):
                GGUFFile.from_bytes(small_bytes[:n], "cut.gguf")
        else:  # only trailing padding after the last tensor is missing
            assert len(GGUFFile.from_bytes(small_bytes[:n]).tensors) == len(TENSORS)


def exercise(f: GGUFFile):
    md = f.metadata
    assert isinstance(md, dict)
    for t in f.tensors:
        assert f.tensor_data(t.name).size == t.nbytes


def test_random_byte_flips(small_bytes):
    rng = random.Random(1234)
    header_end = GGUFFile.from_bytes(small_bytes).data_offset
    loaded = failed = 0
    for _ in range(400):
        data = bytearray(small_bytes)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(header_end)  # corrupt the header/metadata/tensor infos
            data[pos] = rng.randrange(256) if rng.random() < 0.7 else data[pos] ^ (1 << rng.randrange(8))
        try:
            f = GGUFFile.from_bytes(bytes(data), "flip.gguf")
        except GGUFError as e:
            assert "flip.gguf" in str(e)
            failed += 1
            continue
        exercise(f)
        loaded += 1
    assert failed > 100 and loaded > 10
