"""Random-weight GGUF models of any supported architecture and shape (`llmrt convert --random`).

For benchmarks of shapes nobody ships at the size one needs (a Llama-3.1-8B-shaped model at
Q4_K_M, a 30B MoE...): no checkpoint, no transformers. The shape becomes the config.json a
Hugging Face checkpoint would have, so the metadata comes from the converter's own per-
architecture writers (hf_config.py, mirroring llama.cpp's convert_hf_to_gguf.py); the tensor
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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_VERSION, GGMLQuantizationType as T
from gguf.utility import size_label

from ..arch import lookup as arch_lookup
from ..arch.base import GLOBAL_TENSORS, LAYER_TENSORS
from ..errors import ModelError
from . import hf_config, mix, random_vocab
from .encode import Encoder, default_threads
from .errors import ConvertError
from .progress import Progress
from .writer import StreamWriter

CHUNK_ELEMS = 1 << 20          # float32 elements generated and quantized per job (4 MiB)


@dataclass(frozen=True)
class Shape:
    """A model's shape, in Hugging Face config terms. For MoE, `ffn` is one expert's width."""

    arch: str                  # default architecture of the preset
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    context: int = 4096
    head_dim: int | None = None   # None: hidden // heads
    experts: int = 0
    experts_used: int = 0
    shared_ffn: int = 0           # qwen2moe's shared expert (0: 4 * ffn)
    tied: bool = True             # output head tied to the token embedding
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    sliding_window: int = 0       # gemma3's local layers (0: 512)


PRESETS = {
    "smollm2-135m": Shape("llama", 576, 30, 9, 3, 1536, 49152, 8192, rope_theta=100000.0),
    "1b": Shape("llama", 2048, 16, 32, 8, 8192, 128256, 131072, rope_theta=500000.0),   # Llama-3.2-1B
    "3b": Shape("llama", 3072, 28, 24, 8, 8192, 128256, 131072, rope_theta=500000.0),   # Llama-3.2-3B
    "8b": Shape("llama", 4096, 32, 32, 8, 14336, 128256, 131072, tied=False,
                rope_theta=500000.0),                                                  # Llama-3.1-8B
    "gemma3-270m": Shape("gemma3", 640, 18, 4, 1, 2048, 262144, 32768, head_dim=256,
                         rope_theta=1000000.0, rms_eps=1e-6, sliding_window=512),
    "qwen3-0.6b": Shape("qwen3", 1024, 28, 16, 8, 3072, 151936, 40960, head_dim=128,
                        rope_theta=1000000.0, rms_eps=1e-6),
    # the MoE shape tools/make_random_model.py benchmarked (8 experts, 2 active)
    "moe-small": Shape("mixtral", 768, 8, 12, 4, 1536, 32000, 4096, experts=8, experts_used=2,
                       tied=False),
    "qwen3-30b-a3b": Shape("qwen3moe", 2048, 48, 32, 4, 768, 151936, 40960, head_dim=128,
                           experts=128, experts_used=8, tied=False, rope_theta=1000000.0,
                           rms_eps=1e-6),
}

# --random ARCH -> the Hugging Face architecture whose conversion rules (metadata) it follows
HF_ARCH = {"llama": "LlamaForCausalLM", "mixtral": "MixtralForCausalLM", "gemma3": "Gemma3ForCausalLM",
           "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "qwen2moe": "Qwen2MoeForCausalLM",
           "qwen3moe": "Qwen3MoeForCausalLM"}
MOE_ARCHS = ("mixtral", "qwen2moe", "qwen3moe")
OVERRIDES = ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "context", "head_dim",
             "experts", "experts_used", "shared_ffn", "tied")


def resolve(preset: str | None, arch: str | None = None, **overrides) -> tuple[Shape, str]:
    """A preset (or none: every dimension given) with overrides -> (shape, architecture)."""
    if preset is not None and preset not in PRESETS:
        raise ConvertError(f"unknown --random preset {preset!r} (presets: {', '.join(PRESETS)})")
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
        shape = replace(PRESETS[preset], **given)
    arch = arch or shape.arch
    if arch == "llama" and shape.experts:   # llama.cpp writes Mixtral as llama + expert_count
        arch = "mixtral"
    if arch not in HF_ARCH:
        raise ConvertError(f"unknown --arch {arch!r} (supported: {', '.join(HF_ARCH)})")
    _check(shape, arch)
    return shape, arch


def _check(s: Shape, arch: str) -> None:
    for k in ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "context"):
        if getattr(s, k) <= 0:
            raise ConvertError(f"--{k.replace('_', '-')} must be positive, not {getattr(s, k)}")
    if s.heads % s.kv_heads:
        raise ConvertError(f"--heads {s.heads} is not a multiple of --kv-heads {s.kv_heads}")
    if s.head_dim is None and s.hidden % s.heads:
        raise ConvertError(f"--hidden {s.hidden} is not a multiple of --heads {s.heads}; give --head-dim")
    if s.vocab < random_vocab.min_vocab(arch):
        raise ConvertError(f"--vocab {s.vocab} is too small for {arch}'s tokenizer "
                           f"(at least {random_vocab.min_vocab(arch)})")
    if head_dim(s) % 2:
        raise ConvertError(f"head dimension {head_dim(s)} is odd (RoPE rotates pairs)")
    if arch in MOE_ARCHS:
        if not 1 <= s.experts_used <= s.experts:
            raise ConvertError(f"{arch} needs --experts N and --experts-used K with 1 <= K <= N "
                               f"(got {s.experts}, {s.experts_used})")
    elif s.experts:
        raise ConvertError(f"{arch} is a dense architecture; --experts is for {', '.join(MOE_ARCHS)}")
    if arch == "gemma3" and not s.tied:
        raise ConvertError("gemma3 always ties its output head to the token embedding")


def head_dim(s: Shape) -> int:
    return s.head_dim or s.hidden // s.heads


def hf_config_of(s: Shape, arch: str) -> dict:
    """The config.json a checkpoint of this shape would carry."""
    cfg = dict(architectures=[HF_ARCH[arch]], hidden_size=s.hidden, num_hidden_layers=s.layers,
               num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, intermediate_size=s.ffn,
               vocab_size=s.vocab, max_position_embeddings=s.context, rms_norm_eps=s.rms_eps,
               rope_theta=s.rope_theta, tie_word_embeddings=s.tied)
    if s.head_dim is not None or arch in ("qwen3", "qwen3moe", "gemma3"):
        cfg["head_dim"] = head_dim(s)
    if arch == "mixtral":
        cfg.update(num_local_experts=s.experts, num_experts_per_tok=s.experts_used)
    elif arch in ("qwen2moe", "qwen3moe"):
        cfg.update(num_experts=s.experts, num_experts_per_tok=s.experts_used,
                   moe_intermediate_size=s.ffn, norm_topk_prob=arch == "qwen3moe")
        if arch == "qwen2moe":
            cfg["shared_expert_intermediate_size"] = s.shared_ffn or 4 * s.ffn
    elif arch == "gemma3":
        cfg.update(sliding_window=s.sliding_window or 512, rope_local_base_freq=10000.0,
                   query_pre_attn_scalar=head_dim(s))
    return cfg


def _role_shapes(s: Shape, cfg: dict) -> dict[str, tuple[int, ...]]:
    """Role -> numpy shape (rows first), as llama.cpp's converter writes each tensor."""
    e, hd, n_v = s.hidden, head_dim(s), s.vocab
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
    name = gguf_arch(arch)
    spec = arch_lookup(name, {f"{name}.expert_count": s.experts})
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
    return hf_config.ARCHS[HF_ARCH[arch]].gguf_arch


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
    `arch` (HF_ARCH; default: the preset's) at file type `outtype` (mix.FILE_TYPES)."""
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
        hf_config.ARCHS[HF_ARCH[arch]].metadata(g, cfg)
    except (KeyError, ModelError) as e:
        raise ConvertError(f"{arch}: cannot write metadata for this shape ({e})") from None
    g.add_file_type(ftype)
    g.add_quantization_version(GGML_QUANT_VERSION)
    random_vocab.write_vocab(g, arch, shape.vocab)
