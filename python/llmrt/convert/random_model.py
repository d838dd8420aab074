"""Random-weight GGUF models of any supported architecture and shape (`llmrt convert --random`).

For benchmarks of shapes nobody ships at the size one needs (a Llama-3.1-8B-shaped model at
Q4_K_M, a 30B MoE...): no checkpoint, no transformers. The shape becomes the config.json a
Hugging Face checkpoint would have, so the metadata comes from the converter's own per-
architecture writers (ArchSpec.convert.metadata, mirroring llama.cpp's convert_hf_to_gguf.py); the tensor
list comes from the ArchSpec the runtime loads with (its required roles); per-tensor types come
from the K-quant mix rules (mix.py); the tokenizer is synthetic (random_vocab.py).

Tensors are generated, quantized and written one row chunk at a time on a thread pool (the
native quantizers release the GIL), so memory stays at a few chunks per thread. Values are
normal with std 1/sqrt(fan_in) for matrices (activations keep unit scale; logits have std ~1),
1 + N(0, 0.1) for norm weights and N(0, 0.1) for biases, and depend only on (seed, tensor name,
chunk index): the same seed gives the same file whatever the thread count.
"""

from __future__ import annotations

import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_VERSION, GGMLQuantizationType as T
from gguf.utility import size_label

from ..arch import ArchSpec, random_models, random_presets
from ..arch.base import GLOBAL_TENSORS, LAYER_TENSORS
from ..arch.shape import Shape
from ..errors import ModelError
from . import mix, random_vocab
from .encode import Encoder, default_threads
from .errors import ConvertError
from .progress import Progress
from .writer import StreamWriter

CHUNK_ELEMS = 1 << 20          # float32 elements generated and quantized per job (4 MiB)


OVERRIDES = ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "context", "head_dim",
             "experts", "experts_used", "shared_ffn", "tied")


def resolve(preset: str | None, arch: str | None = None, **overrides) -> tuple[Shape, str]:
    """A preset (or none: every dimension given) with overrides -> (shape, architecture)."""
    presets = random_presets()
    if preset is not None and preset not in presets:
        raise ConvertError(f"unknown --random preset {preset!r} (presets: {', '.join(presets)})")
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(OVERRIDES)
    if unknown:
        raise ConvertError(f"unknown shape override(s): {', '.join(sorted(unknown))}")
    if preset is None:
        missing = [k for k in ("hidden", "layers", "heads", "ffn", "vocab") if k not in given]
        if missing:
            flags = ", ".join("--" + m.replace("_", "-") for m in missing)
            raise ConvertError(f"--random without a preset needs {flags}")
        given.setdefault("kv_heads", given["heads"])
        shape = Shape(arch or "llama", **given)
    else:
        shape = replace(presets[preset], **given)
    arch = arch or shape.arch
    specs = random_models()
    if arch in specs and shape.experts and not specs[arch].random.moe:
        # llama.cpp writes Mixtral as llama + expert_count: the MoE variant of the same GGUF name
        arch = next((name for name, s in specs.items() if s.random.moe and s.name == specs[arch].name), arch)
    if arch not in specs:
        raise ConvertError(f"unknown --arch {arch!r} (supported: {', '.join(specs)})")
    _check(shape, arch)
    return shape, arch


def spec_of(arch: str) -> ArchSpec:
    return random_models()[arch]


def _check(s: Shape, arch: str) -> None:
    for k in ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "context"):
        if getattr(s, k) <= 0:
            raise ConvertError(f"--{k.replace('_', '-')} must be positive, not {getattr(s, k)}")
    if s.heads % s.kv_heads:
        raise ConvertError(f"--heads {s.heads} is not a multiple of --kv-heads {s.kv_heads}")
    if s.head_dim is None and s.hidden % s.heads:
        raise ConvertError(f"--hidden {s.hidden} is not a multiple of --heads {s.heads}; give --head-dim")
    random = spec_of(arch).random
    if s.vocab < random_vocab.min_vocab(random.vocab_style):
        raise ConvertError(f"--vocab {s.vocab} is too small for {arch}'s tokenizer "
                           f"(at least {random_vocab.min_vocab(random.vocab_style)})")
    if s.head_width % 2:
        raise ConvertError(f"head dimension {s.head_width} is odd (RoPE rotates pairs)")
    if random.moe:
        if not 1 <= s.experts_used <= s.experts:
            raise ConvertError(f"{arch} needs --experts N and --experts-used K with 1 <= K <= N "
                               f"(got {s.experts}, {s.experts_used})")
    elif s.experts:
        moe = ", ".join(n for n, spec in random_models().items() if spec.random.moe)
        raise ConvertError(f"{arch} is a dense architecture; --experts is for {moe}")
    if random.tied_only and not s.tied:
        raise ConvertError(f"{arch} always ties its output head to the token embedding")


def hf_config_of(s: Shape, arch: str) -> dict:
    """The config.json a checkpoint of this shape would carry."""
    spec = spec_of(arch)
    cfg = dict(architectures=[spec.convert.architectures[0]], hidden_size=s.hidden, num_hidden_layers=s.layers,
               num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, intermediate_size=s.ffn,
               vocab_size=s.vocab, max_position_embeddings=s.context, rms_norm_eps=s.rms_eps,
               rope_theta=s.rope_theta, tie_word_embeddings=s.tied)
    if s.head_dim is not None:
        cfg["head_dim"] = s.head_width
    if spec.random.config:
        spec.random.config(s, cfg)
    return cfg


def _role_shapes(s: Shape, cfg: dict) -> dict[str, tuple[int, ...]]:
    """Role -> numpy shape (rows first), as llama.cpp's converter writes each tensor."""
    e, hd, n_v = s.hidden, s.head_width, s.vocab
    q, kv = s.heads * hd, s.kv_heads * hd
    ff_sh = cfg.get("shared_expert_intermediate_size", 0)
    return {
        "token_embd": (n_v, e), "output": (n_v, e), "output_norm": (e,),
        "attn_norm": (e,), "ffn_norm": (e,), "post_attention_norm": (e,), "post_ffw_norm": (e,),
        "attn_q": (q, e), "attn_k": (kv, e), "attn_v": (kv, e), "attn_output": (e, q),
        "attn_q_bias": (q,), "attn_k_bias": (kv,), "attn_v_bias": (kv,), "attn_output_bias": (e,),
        "attn_q_norm": (hd,), "attn_k_norm": (hd,),
        "ffn_gate": (s.ffn, e), "ffn_up": (s.ffn, e), "ffn_down": (e, s.ffn),
        "ffn_gate_inp": (s.experts, e), "exp_probs_b": (s.experts,),
        "ffn_gate_exps": (s.experts, s.ffn, e), "ffn_up_exps": (s.experts, s.ffn, e),
        "ffn_down_exps": (s.experts, e, s.ffn),
        "ffn_gate_inp_shexp": (e,), "ffn_gate_shexp": (ff_sh, e), "ffn_up_shexp": (ff_sh, e),
        "ffn_down_shexp": (e, ff_sh),
    }


def plan_tensors(s: Shape, arch: str, cfg: dict) -> list[tuple[str, tuple[int, ...]]]:
    """(GGUF name, numpy shape) of every tensor, in the converter's order: embedding, blocks,
    output norm and head. The roles are the ArchSpec's required ones for this expert count."""
    spec = spec_of(arch)
    roles = set(spec.required_roles(s.experts)) | ({"output"} if not s.tied else set())
    shapes = _role_shapes(s, cfg)
    missing = roles - set(shapes)
    if missing:   # a new ArchSpec role this generator does not know the shape of
        raise ConvertError(f"{arch}: no random-model shape for role(s) {', '.join(sorted(missing))}")
    out = [(GLOBAL_TENSORS["token_embd"], shapes["token_embd"])]
    for il in range(s.layers):
        out += [(LAYER_TENSORS[r].format(il), shapes[r]) for r in LAYER_TENSORS if r in roles]
    out += [(GLOBAL_TENSORS[r], shapes[r]) for r in ("output_norm", "output") if r in roles]
    return out


def gguf_arch(arch: str) -> str:
    return spec_of(arch).name


# ---- values -----------------------------------------------------------------------------------

def _scale(name: str, shape: tuple[int, ...]) -> tuple[float, float]:
    """(mean, std) of a tensor's values."""
    if name.endswith("norm.weight"):
        return 1.0, 0.1
    if name.endswith(".bias"):
        return 0.0, 0.1
    return 0.0, float(shape[-1]) ** -0.5


def _rows(shape: tuple[int, ...]) -> tuple[int, int]:
    ncols = shape[-1]
    return int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1, ncols


def chunk_rows(shape: tuple[int, ...]) -> int:
    return max(1, CHUNK_ELEMS // shape[-1])


def generate(seed: int, name: str, shape: tuple[int, ...], chunk: int) -> np.ndarray:
    """Rows [chunk * chunk_rows, ...) of tensor `name`, float32 (rows, ncols); depends only on
    (seed, name, shape, chunk)."""
    nrows, ncols = _rows(shape)
    step = chunk_rows(shape)
    n = min(step, nrows - chunk * step)
    key = np.random.SeedSequence([seed, zlib.crc32(name.encode()), chunk])
    rng = np.random.Generator(np.random.PCG64(key))
    x = rng.standard_normal((n, ncols), dtype=np.float32)
    mean, std = _scale(name, shape)
    x *= np.float32(std)
    if mean:
        x += np.float32(mean)
    return x


def _stream(pool, jobs, window: int):
    """Results of `jobs` (callables) in order, at most `window` running ahead."""
    pending = deque()
    for job in jobs:
        pending.append(pool.submit(job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# ---- writing ----------------------------------------------------------------------------------

def write_random(out: str | Path, preset: str | None = None, arch: str | None = None,
                 outtype: str = "q8_0", seed: int = 0, threads: int | None = None,
                 progress: bool | None = None, **overrides) -> Path:
    """Write a random-weight GGUF of `preset` (PRESETS) with shape `overrides` (OVERRIDES) for
    `arch` (arch.random_models(); default: the preset's) at file type `outtype` (mix.FILE_TYPES)."""
    out = Path(out)
    shape, arch = resolve(preset, arch, **overrides)
    ftype, _ = mix.file_type(outtype)
    cfg = hf_config_of(shape, arch)
    tensors = plan_tensors(shape, arch, cfg)
    types = mix.choose_types({n: (sh, T.F32) for n, sh in tensors}, outtype, shape.layers,
                             shape.heads, shape.kv_heads, shape.experts)
    w = StreamWriter(out.with_name(out.name + ".part"), gguf_arch(arch))
    _write_metadata(w.gguf, shape, arch, cfg, ftype, preset, seed)
    sizes = {n: w.add_tensor(n, sh, types[n]) for n, sh in tensors}
    w.gguf.add_size_label(size_label(*w.gguf.get_total_parameter_count()))   # as convert_hf_to_gguf.py
    threads = threads or default_threads()
    encode = Encoder(1)   # called from the pool's workers, one chunk each
    bar = Progress(sum(sizes.values()), len(tensors), enabled=progress, label="random ")
    try:
        with ThreadPoolExecutor(threads) as pool:
            w.begin()
            for name, sh in tensors:
                bar.start_tensor(name, sizes[name])
                w.start_tensor(name)
                n_chunks = -(-_rows(sh)[0] // chunk_rows(sh))
                jobs = [lambda k=k, name=name, sh=sh: encode(generate(seed, name, sh, k), types[name])
                        for k in range(n_chunks)]
                for data in _stream(pool, jobs, 2 * threads):
                    w.write(data)
                    bar.advance(data.nbytes)
                w.end_tensor()
                bar.end_tensor()
            w.close()
        w.path.replace(out)
    except BaseException:
        w.gguf.close()
        w.path.unlink(missing_ok=True)
        raise
    bar.finish()
    return out


def _write_metadata(g, shape: Shape, arch: str, cfg: dict, ftype, preset, seed: int) -> None:
    g.add_type("model")
    g.add_name(f"random {preset or 'custom'} {arch}")
    g.add_description(f"random weights (llmrt convert --random {preset or 'custom'} --arch {arch} "
                      f"--seed {seed}); not a trained model")
    try:
        spec_of(arch).convert.metadata(g, cfg)
    except (KeyError, ModelError) as e:
        raise ConvertError(f"{arch}: cannot write metadata for this shape ({e})") from None
    g.add_file_type(ftype)
    g.add_quantization_version(GGML_QUANT_VERSION)
    random_vocab.write_vocab(g, spec_of(arch).random.vocab_style, shape.vocab)
