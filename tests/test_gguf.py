"""llmrt.GGUFFile: parsing checked against gguf.GGUFWriter input and gguf.GGUFReader, and
validation of malformed files (every truncation, random byte flips, targeted corruptions)."""

from __future__ import annotations

import mmap
import random
import resource
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


# ---------------------------------------------------------------------------------------------
# Targeted corruptions, built by hand.

def s(x: str | bytes) -> bytes:
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype: int, payload: bytes) -> bytes:
    return s(key) + struct.pack("<I", vtype) + payload


def kv_u32(key, v):
    return kv(key, VT.UINT32, struct.pack("<I", v))


def ti(name, dims, ttype=QT.F32, offset=0) -> bytes:
    return (s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<q", d) for d in dims)
            + struct.pack("<IQ", ttype, offset))


def build(kvs=(), tis=(), data=b"", version=3, alignment=32, n_kv=None, n_tensors=None,
          magic=b"GGUF") -> bytes:
    head = (magic + struct.pack("<IQQ", version, len(tis) if n_tensors is None else n_tensors,
                                len(kvs) if n_kv is None else n_kv)
            + b"".join(kvs) + b"".join(tis))
    pad = (-len(head)) % alignment
    return head + b"\0" * pad + data


def load(b: bytes):
    return GGUFFile.from_bytes(b, "bad.gguf")


def bad(b: bytes, match: str):
    with pytest.raises(GGUFError, match=match) as e:
        load(b)
    assert "bad.gguf" in str(e.value)


def test_hand_built_file_loads():
    b = build([kv_u32("k", 7)], [ti("t", [4, 2], QT.F32, 0), ti("u", [32], QT.Q8_0, 64)],
              data=bytes(range(32)) + b"\0" * 32 + b"\1" * 34)
    f = load(b)
    assert f.metadata == {"k": 7}
    assert f.tensor("t").shape == (4, 2) and f.tensor("u").nbytes == 34
    assert f.tensor_data("t").tobytes() == bytes(range(32))


def test_scalar_tensor_with_no_dims():
    f = load(build(tis=[ti("s", [])], data=b"\0" * 4))
    assert f.tensor("s").shape == () and f.tensor("s").nbytes == 4


def test_no_tensors_and_no_data_section():
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv_u32("k", 1)
    f = load(head)  # no padding at all: there is no data to align
    assert f.tensors == [] and f.metadata == {"k": 1}


def test_bad_magic():
    bad(build(magic=b"GGML"), "bad magic")


@pytest.mark.parametrize("version,match", [(1, "version 1 is unsupported"),
                                           (0, "unsupported GGUF version 0"),
                                           (4, "unsupported GGUF version 4"),
                                           (0x03000000, "big-endian")])
def test_bad_version(version, match):
    bad(build(version=version), match)


def test_truncated_header():
    bad(b"", "truncated")
    bad(b"GGUF\x03\x00\x00\x00\x00", "truncated")


def test_string_length_past_end():
    bad(build([kv_u32("k", 1)])[:24] + struct.pack("<Q", 2**40) + b"abc" * 10,
        "metadata key declares length 1099511627776, past the end")
    bad(build([kv("k", VT.STRING, struct.pack("<Q", 2**63) + b"xy")]), "string value declares")
    bad(build(tis=[struct.pack("<Q", 100) + b"n" * 30], alignment=1),
        "tensor name declares length 100")


def test_array_length_past_end():
    # alignment=1: no padding after the header, so the array really is the last thing
    bad(build([kv("k", VT.ARRAY, struct.pack("<IQ", VT.UINT32, 5) + b"\0" * 16)], alignment=1),
        "array of 5 UINT32 elements runs past the end")
    bad(build([kv("k", VT.ARRAY, struct.pack("<IQ", VT.STRING, 3) + s("a") + s("b"))],
              alignment=1), "array of 3 STRING elements runs past the end")
    bad(build([kv("k", VT.ARRAY, struct.pack("<IQ", VT.STRING, 3) + s("a") + s("b")
                  + struct.pack("<Q", 5) + b"ab")], alignment=1),
        "string value declares length 5, past the end")


def test_names_in_messages_are_escaped():
    with pytest.raises(GGUFError) as e:
        load(build([kv_u32("a\0b\n", 1), kv_u32("a\0b\n", 1)]))
    assert "duplicate metadata key 'a\\x00b\\x0a'" in str(e.value)


def test_huge_declared_lengths_do_not_allocate():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for et in (VT.UINT8, VT.FLOAT64, VT.STRING, VT.ARRAY):
        for n in (2**31, 2**40, 2**63, 2**64 - 1):
            bad(build([kv("k", VT.ARRAY, struct.pack("<IQ", et, n))]), "runs past the end")
    bad(build(n_kv=2**62), "metadata count .* cannot fit")
    bad(build(n_tensors=2**64 - 1), "tensor count .* cannot fit")
    bad(build([kv("k", VT.STRING, struct.pack("<Q", 2**64 - 1))]), "past the end")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB


def test_deeply_nested_array():
    payload = struct.pack("<IQ", VT.UINT8, 0)
    for _ in range(40):
        payload = struct.pack("<IQ", VT.ARRAY, 1) + payload
    bad(build([kv("k", VT.ARRAY, payload)]), "nested deeper")


def test_unknown_value_types():
    bad(build([kv("k", 13, b"\0" * 8)]), "unknown value type 13")
    bad(build([kv("k", VT.ARRAY, struct.pack("<IQ", 99, 1) + b"\0" * 8)]),
        "unknown array element type 99")


def test_duplicates():
    bad(build([kv_u32("k", 1), kv_u32("k", 2)]), "duplicate metadata key 'k'")
    bad(build(tis=[ti("t", [1]), ti("t", [1], offset=32)], data=b"\0" * 36),
        "duplicate tensor name 't'")


def test_invalid_utf8_names():
    bad(build([kv(b"\xff\xfe", VT.UINT8, b"\0")]), "UTF-8")
    bad(build(tis=[ti(b"a\xc0", [1])], data=b"\0" * 4), "UTF-8")


def test_invalid_utf8_string_value_survives():
    f = load(build([kv("k", VT.STRING, s(b"ok\xff"))]))
    assert f.metadata["k"].encode("utf-8", "surrogateescape") == b"ok\xff"


@pytest.mark.parametrize("value,match", [(0, "power of two"), (48, "power of two"),
                                         (2**31 + 1, "power of two")])
def test_bad_alignment(value, match):
    bad(build([kv_u32("general.alignment", value)]), match)


def test_alignment_wrong_type():
    bad(build([kv("general.alignment", VT.STRING, s("32"))]), "expected an integer")
    bad(build([kv("general.alignment", VT.INT32, struct.pack("<i", -32))]), "power of two")


def test_alignment_from_other_integer_types():
    f = load(build([kv("general.alignment", VT.UINT64, struct.pack("<Q", 16))],
                   [ti("t", [4], offset=16)], data=b"\0" * 32, alignment=16))
    assert f.alignment == 16 and f.tensor("t").offset == 16


def test_tensor_data_outside_file():
    bad(build(tis=[ti("t", [4, 4])], data=b"\0" * 63), "tensor 't': data .* outside the file")
    bad(build(tis=[ti("t", [4], offset=2**64 - 32)], data=b"\0" * 16), "outside the file")


def test_dimension_product_overflow():
    bad(build(tis=[ti("t", [2**32, 2**32])]), "element count overflows int64")
    bad(build(tis=[ti("t", [2**62, 2], QT.I8)]), "element count overflows int64")
    bad(build(tis=[ti("t", [2**61, 2], QT.F64)]), "byte size overflows")


def test_too_many_dims():
    bad(build(tis=[ti("t", [1, 1, 1, 1, 1])]), "has 5 dimensions")


@pytest.mark.parametrize("dim", [0, -1, -(2**63)])
def test_non_positive_dimension(dim):
    bad(build(tis=[ti("t", [4, dim])], data=b"\0" * 64), "dimension 1 is .*must be positive")


@pytest.mark.parametrize("ttype", [4, 5, 31, 63, 64, 2**32 - 1])
def test_unknown_tensor_type(ttype):
    bad(build(tis=[ti("t", [32], ttype)], data=b"\0" * 256), f"unknown type id {ttype}")


def test_row_not_multiple_of_block():
    bad(build(tis=[ti("t", [33, 2], QT.Q8_0)], data=b"\0" * 128),
        "row length 33 is not a multiple of Q8_0 block size 32")
    bad(build(tis=[ti("t", [128], QT.Q4_K)], data=b"\0" * 256), "block size 256")


def test_misaligned_offset():
    bad(build(tis=[ti("t", [4], offset=4)], data=b"\0" * 64),
        "data offset 4 is not a multiple of the alignment 32")


def test_files_on_disk(tmp_path):
    with pytest.raises(FileNotFoundError):
        GGUFFile(tmp_path / "missing.gguf")
    with pytest.raises(GGUFError, match="not a regular file"):
        GGUFFile(tmp_path)
    (tmp_path / "empty.gguf").write_bytes(b"")
    with pytest.raises(GGUFError, match="empty.gguf: truncated"):
        GGUFFile(tmp_path / "empty.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"hello world, not gguf")
    with pytest.raises(GGUFError, match="junk.gguf: not a GGUF file"):
        GGUFFile(tmp_path / "junk.gguf")
