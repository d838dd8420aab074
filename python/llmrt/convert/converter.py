"""Hugging Face checkpoint directory -> GGUF (what `llmrt convert` runs).

Plan first (names, shapes and output types of every tensor, from the safetensors headers alone),
then write metadata and the tensor table, then stream each tensor in row blocks: read from the
memory map, widen to float32, permute / shift, encode, write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_VERSION, GGMLQuantizationType as T

from ..arch import ArchSpec
from ..arch.hf_rope_factors import generated_tensors
from ..errors import ModelError
from . import hf_config, mix
from .encode import Encoder
from .errors import ConvertError
from .progress import Progress
from .tensors import NameMap, SafetensorsCheckpoint, permute_qk
from .vocab import load_vocab, write_vocab
from .writer import StreamWriter

OUTTYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k")
BLOCK_ELEMS = 1 << 22           # float32 elements per streamed row block (16 MiB)
_IGNORED_SUFFIXES = (".rotary_emb.inv_freq",)


@dataclass
class PlannedTensor:
    name: str                   # GGUF name
    hf_name: str
    shape: tuple[int, ...]      # numpy order (rows first), as written
    permute_heads: int = 0      # >0: permute Q/K rows with this many heads
    shift: float = 0.0          # added to every element (Gemma norms)
    rows: int | None = None     # keep only the first `rows` rows (Gemma embedding)
    experts: list[str] | None = None  # HF per-expert tensors stacked along a new first axis
    values: np.ndarray | None = None  # computed here rather than read (rope_freqs.weight)
    ggml_type: int = T.F32
    nbytes: int = 0             # output bytes


def _expected_shapes(cfg: dict) -> dict[str, tuple[int, ...]]:
    n_embd, n_head = cfg["hidden_size"], cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_head
    hd = cfg.get("head_dim") or n_embd // n_head
    return {"attn_q.weight": (n_head * hd, n_embd), "attn_k.weight": (n_kv * hd, n_embd),
            "attn_v.weight": (n_kv * hd, n_embd), "attn_output.weight": (n_embd, n_head * hd)}


def plan_tensors(ckpt: SafetensorsCheckpoint, cfg: dict, spec: ArchSpec,
                 n_vocab: int) -> list[PlannedTensor]:
    names = NameMap(spec.hf_names)
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_head
    expected = _expected_shapes(cfg)
    plan: list[PlannedTensor] = []
    seen: set[str] = set()
    stacks: dict[str, dict[int, str]] = {}
    for hf_name in ckpt.names():
        norm = hf_config.normalize_hf_name(hf_name)
        if norm is None or norm.endswith(_IGNORED_SUFFIXES):
            continue
        mapped = names(norm)
        if mapped is None:
            raise ConvertError(f"cannot map tensor {hf_name!r} to a GGUF name for {spec.name}")
        name, il, expert = mapped
        if il is not None and il >= cfg["num_hidden_layers"]:
            raise ConvertError(f"tensor {hf_name!r} is in layer {il}, but config.json has "
                               f"{cfg['num_hidden_layers']} layers")
        if expert is not None:
            if name not in stacks:
                stacks[name] = {}
                plan.append(PlannedTensor(name, hf_name, ckpt.tensors[hf_name].shape, experts=[]))
            if expert in stacks[name]:
                raise ConvertError(f"two checkpoint tensors map to expert {expert} of {name!r}")
            stacks[name][expert] = hf_name
            continue
        shape = ckpt.tensors[hf_name].shape
        if name.endswith("ffn_gate_inp_shexp.weight"):   # (1, n_embd) in HF: a vector
            shape = (int(np.prod(shape)),)
        p = PlannedTensor(name, hf_name, shape)
        for suffix, want in expected.items():
            if name.endswith(suffix) and tuple(shape) != want:
                raise ConvertError(f"tensor {hf_name!r} has shape {shape}, config.json implies {want}")
        if spec.convert.permute_qk and norm.endswith(("q_proj.weight", "q_proj.bias")):
            p.permute_heads = n_head
        elif spec.convert.permute_qk and norm.endswith(("k_proj.weight", "k_proj.bias")):
            p.permute_heads = n_kv
        if spec.convert.norm_shift and norm.endswith("norm.weight"):
            p.shift = spec.convert.norm_shift
        if name == "token_embd.weight":
            if spec.convert.truncate_embd and shape[0] > n_vocab:
                p.rows, p.shape = n_vocab, (n_vocab, *shape[1:])
            if p.shape[0] != n_vocab:
                raise ConvertError(f"token embedding has {shape[0]} rows, the vocabulary {n_vocab} tokens")
        if name in seen:
            raise ConvertError(f"two checkpoint tensors map to {name!r}")
        seen.add(name)
        plan.append(p)
    for p in plan:
        if p.experts is not None:
            _plan_stack(p, stacks[p.name], ckpt, _n_expert(cfg))
            seen.add(p.name)
    _check_required(spec, seen, cfg["num_hidden_layers"], _n_expert(cfg))
    for name, values in generated_tensors(cfg).items():
        plan.append(PlannedTensor(name, "", values.shape, values=values))
    return plan


def _n_expert(cfg: dict) -> int:
    return int(cfg.get("num_local_experts") or cfg.get("num_experts") or 0)


def _plan_stack(p: PlannedTensor, parts: dict[int, str], ckpt, n_expert: int) -> None:
    """Experts 0..n_expert-1, all of one 2-D shape -> one (n_expert, rows, cols) tensor."""
    if sorted(parts) != list(range(n_expert)):
        missing = sorted(set(range(n_expert)) - set(parts)) or sorted(parts)[n_expert:]
        raise ConvertError(f"{p.name}: config.json has {n_expert} experts, the checkpoint "
                           f"experts {sorted(parts)[:3]}...; missing or extra: {missing[:5]}")
    p.experts = [parts[e] for e in range(n_expert)]
    shapes = {tuple(ckpt.tensors[h].shape) for h in p.experts}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ConvertError(f"{p.name}: expert tensors differ in shape or are not matrices: {sorted(shapes)}")
    p.shape = (n_expert, *shapes.pop())


def _check_required(spec: ArchSpec, names: set[str], n_layer: int, n_expert: int = 0) -> None:
    try:
        spec.check_tensors(names, n_layer, n_expert)
    except ModelError as e:  # name the missing tensor as a conversion error
        raise ConvertError(f"checkpoint incomplete: {e}") from None


def _row_block(p: PlannedTensor) -> int:
    if len(p.shape) <= 1:
        return max(1, p.shape[0] if p.shape else 1)
    ncols = int(np.prod(p.shape[1:]))
    rows = max(1, BLOCK_ELEMS // ncols)
    if p.permute_heads:
        head_rows = p.shape[0] // p.permute_heads
        rows = max(head_rows, rows // head_rows * head_rows)
    return rows


def stream_tensor(ckpt, p: PlannedTensor, out: StreamWriter, encode: Encoder, progress: Progress) -> None:
    if p.values is not None:
        out.start_tensor(p.name)
        data = encode(p.values, p.ggml_type)
        out.write(data)
        progress.advance(data.nbytes)
        out.end_tensor()
        return
    if p.experts:   # expert by expert: row-wise encodings concatenate into the 3-D tensor's
        out.start_tensor(p.name)
        part = PlannedTensor(p.name, "", p.shape[1:], ggml_type=p.ggml_type)
        step = _row_block(part)
        for hf_name in p.experts:
            for start in range(0, p.shape[1], step):
                data = encode(ckpt.rows(hf_name, start, min(p.shape[1], start + step)), p.ggml_type)
                out.write(data)
                progress.advance(data.nbytes)
        out.end_tensor()
        return
    total_rows = p.shape[0] if p.shape else 1
    step = _row_block(p)
    head_rows = p.shape[0] // p.permute_heads if p.permute_heads else 0
    out.start_tensor(p.name)
    for start in range(0, total_rows, step):
        stop = min(total_rows, start + step)
        block = ckpt.rows(p.hf_name, start, stop)
        if len(p.shape) == 1:
            block = block.reshape(-1)
        if p.permute_heads:
            block = permute_qk(block, (stop - start) // head_rows)
        if p.shift:
            block = block + np.float32(p.shift)
        data = encode(block, p.ggml_type)
        out.write(data)
        progress.advance(data.nbytes)
    out.end_tensor()


def write_metadata(w, model_dir: Path, cfg: dict, spec, vocab, outtype: str) -> None:
    g = w.gguf
    g.add_type("model")
    g.add_name(cfg.get("_name_or_path") and Path(cfg["_name_or_path"]).name or model_dir.resolve().name)
    spec.convert.metadata(g, cfg)
    g.add_file_type(mix.file_type(outtype)[0])
    g.add_quantization_version(GGML_QUANT_VERSION)
    if vocab.model == "llama" and not spec.convert.spm_space_prefix:
        g.add_add_space_prefix(False)
    write_vocab(g, model_dir, vocab)


def convert(model_dir: str | Path, out: str | Path, outtype: str = "f16", threads: int | None = None,
            progress: bool | None = None, pre: str | None = None) -> Path:
    model_dir, out = Path(model_dir), Path(out)
    outtype = outtype.lower()
    if outtype not in OUTTYPES:
        raise ConvertError(f"unknown --outtype {outtype!r} (supported: {', '.join(OUTTYPES)})")
    cfg = hf_config.load_config(model_dir)
    _, spec = hf_config.lookup(cfg)
    ckpt = SafetensorsCheckpoint(model_dir)
    vocab = load_vocab(model_dir, cfg.get("vocab_size"), spec.convert.vocab_prefer, pre)
    plan = plan_tensors(ckpt, cfg, spec, len(vocab.tokens))
    n_head = cfg["num_attention_heads"]
    types = mix.choose_types({p.name: (p.shape, T.F32) for p in plan}, outtype, cfg["num_hidden_layers"],
                             n_head, cfg.get("num_key_value_heads") or n_head,
                             _n_expert(cfg))
    w = StreamWriter(out, spec.name)
    write_metadata(w, model_dir, cfg, spec, vocab, outtype)
    total = 0
    for p in plan:
        p.ggml_type = types[p.name]
        p.nbytes = w.add_tensor(p.name, p.shape, p.ggml_type)
        total += p.nbytes
    encode = Encoder(threads)
    bar = Progress(total, len(plan), enabled=progress, label="convert ")
    tmp = out.with_name(out.name + ".part")
    w.path = tmp
    try:
        w.begin()
        for p in plan:
            bar.start_tensor(p.name, p.nbytes)
            stream_tensor(ckpt, p, w, encode, bar)
            bar.end_tensor()
        w.close()
        tmp.replace(out)
    except BaseException:
        w.gguf.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        encode.close()
        ckpt.close()
    bar.finish()
    return out
