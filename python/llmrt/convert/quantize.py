"""GGUF -> GGUF at another file type (what `llmrt quantize` runs), like llama-quantize.

Metadata is copied with general.file_type and general.quantization_version set; every tensor's
target type comes from the mix rules (mix.py); tensors are dequantized (requantizing an
already quantized file is allowed) and re-encoded in row blocks, in llama.cpp's tensor order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGML_QUANT_VERSION, GGMLQuantizationType as T, GGUFReader, GGUFValueType

from . import mix
from .encode import METHODS, Encoder, decode
from .errors import ConvertError
from .progress import Progress
from .writer import StreamWriter

BLOCK_ELEMS = 1 << 22
_SKIP_KEYS = ("general.architecture", "general.file_type", "general.quantization_version",
              "split.no", "split.count", "split.tensors.count")


def _copy_metadata(reader: GGUFReader, w) -> None:
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in _SKIP_KEYS:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), vtype, sub)


def _field(reader: GGUFReader, key: str, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def _rows_of(t) -> tuple[tuple[int, ...], int, int]:
    shape = tuple(int(x) for x in reversed(t.shape.tolist()))   # numpy order
    ncols = shape[-1] if shape else 1
    nrows = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    return shape, nrows, ncols


def quantize_file(src: str | Path, dst: str | Path, qtype: str, threads: int | None = None,
                  progress: bool | None = None, method: str = "ggml") -> Path:
    """method: "ggml" (the bytes llama-quantize writes) or "refine" (lower squared error per
    block, never higher; see encode.py). "refine" also gives rows that Q4_K cannot hold Q5_1
    rather than Q5_0 (mix.choose_types), so its files can differ in type from llama-quantize's."""
    src, dst = Path(src), Path(dst)
    if method not in METHODS:
        raise ConvertError(f"unknown quantizer method {method!r} (one of {', '.join(METHODS)})")
    ftype, _ = mix.file_type(qtype)
    try:
        reader = GGUFReader(src)
    except (OSError, ValueError) as e:
        raise ConvertError(f"{src}: cannot read GGUF ({e})") from None
    arch = _field(reader, "general.architecture")
    if arch is None:
        raise ConvertError(f"{src}: no general.architecture")
    tensors = {t.name: t for t in reader.tensors}
    n_head = int(_field(reader, f"{arch}.attention.head_count", 1))
    types = mix.choose_types({n: (_rows_of(t)[0], int(t.tensor_type)) for n, t in tensors.items()},
                             qtype, int(_field(reader, f"{arch}.block_count", 0)), n_head,
                             int(_field(reader, f"{arch}.attention.head_count_kv", n_head)),
                             int(_field(reader, f"{arch}.expert_count", 0)), offset_fallback=method == "refine")
    order = mix.llama_order(tensors)
    w = StreamWriter(dst.with_name(dst.name + ".part"), arch)
    _copy_metadata(reader, w.gguf)
    w.gguf.add_file_type(ftype)
    w.gguf.add_quantization_version(GGML_QUANT_VERSION)
    sizes = {n: w.add_tensor(n, _rows_of(tensors[n])[0], types[n]) for n in order}
    encode = Encoder(threads, method)
    bar = Progress(sum(sizes.values()), len(order), enabled=progress, label="quantize ")
    try:
        w.begin()
        for n in order:
            bar.start_tensor(n, sizes[n])
            _requantize(tensors[n], types[n], w, encode, bar)
            bar.end_tensor()
        w.close()
        w.path.replace(dst)
    except BaseException:
        w.gguf.close()
        w.path.unlink(missing_ok=True)
        raise
    finally:
        encode.close()
    bar.finish()
    return dst


def _requantize(t, target: int, w: StreamWriter, encode: Encoder, bar: Progress) -> None:
    shape, nrows, ncols = _rows_of(t)
    src_type = int(t.tensor_type)
    w.start_tensor(t.name)
    raw = np.asarray(t.data)
    if src_type == target:   # kept as is (norms, or a tensor already of the target type)
        w.write(raw.view(np.uint8).reshape(-1))
        bar.advance(raw.nbytes)
        w.end_tensor()
        return
    block, size = GGML_QUANT_SIZES[T(src_type)]
    row_bytes = ncols // block * size
    flat = raw.view(np.uint8).reshape(-1)
    step = max(1, BLOCK_ELEMS // ncols)
    for r0 in range(0, nrows, step):
        r1 = min(nrows, r0 + step)
        x = decode(flat[r0 * row_bytes:r1 * row_bytes], src_type, (r1 - r0) * ncols)
        data = encode(x.reshape(r1 - r0, ncols), target)
        w.write(data)
        bar.advance(data.nbytes)
    w.end_tensor()
