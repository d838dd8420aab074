"""llmrt.GGUFFile on targeted corruptions, each file built by hand byte by byte: every check of
the native parser (csrc/gguf/) must raise GGUFError with a message naming the problem."""

from __future__ import annotations

import resource
import struct

import pytest
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

from llmrt.errors import GGUFError
from llmrt.gguf_file import GGUFFile

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
