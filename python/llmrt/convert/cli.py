"""`llmrt convert` and `llmrt quantize` subcommands (registered by llmrt.cli.build_parser)."""

from __future__ import annotations

import argparse

from .errors import ConvertError

# Kept here (not imported from converter/mix) so registering the parsers stays cheap; the
# tests check they agree with the tables.
OUTTYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k")
QUANT_FILE_TYPES = ("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M",
                    "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS")
# --random writes any file type of llama-quantize's mixes, not only the converter's
RANDOM_OUTTYPES = OUTTYPES + tuple(t.lower() for t in QUANT_FILE_TYPES if t.lower() not in OUTTYPES)
RANDOM_SHAPE_ARGS = ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "experts", "experts_used",
                     "shared_ffn", "head_dim", "context")


def cmd_convert(args) -> int:
    if args.random is not None:
        return cmd_random(args)
    if args.model_dir is None:
        raise ConvertError("give a Hugging Face checkpoint directory or --random SHAPE")
    from .converter import convert

    out = convert(args.model_dir, args.outfile, outtype=args.outtype, threads=args.threads,
                  progress=False if args.quiet else None, pre=args.pre)
    print(out)
    return 0


def cmd_random(args) -> int:
    from .random_model import write_random

    if args.model_dir is not None:
        raise ConvertError("--random takes no checkpoint directory")
    shape = {k: getattr(args, k) for k in RANDOM_SHAPE_ARGS}
    preset = None if args.random == "custom" else args.random
    out = write_random(args.outfile, preset, args.arch, args.outtype, seed=args.seed,
                       threads=args.threads, progress=False if args.quiet else None,
                       tied=args.tie_embeddings, **shape)
    print(out)
    return 0


def _add_random_args(p: argparse.ArgumentParser) -> None:
    from ..arch import random_models, random_presets

    g = p.add_argument_group("random weights (no checkpoint): --random SHAPE [--arch ARCH] [overrides]")
    g.add_argument("--random", metavar="SHAPE", nargs="?", const="custom", default=None,
                   help=f"write random weights of a preset shape ({', '.join(random_presets())}); "
                        "alone or 'custom': give every dimension")
    g.add_argument("--arch", default=None, help=f"{', '.join(random_models())} (default: the preset's)")
    g.add_argument("--seed", type=int, default=0)
    for name in RANDOM_SHAPE_ARGS:
        g.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    g.add_argument("--tie-embeddings", action=argparse.BooleanOptionalAction, default=None,
                   help="output head tied to the token embedding (default: the preset's)")


def cmd_quantize(args) -> int:
    from .quantize import quantize_file

    out = quantize_file(args.input, args.output, args.type, threads=args.threads,
                        progress=False if args.quiet else None, method=args.method)
    print(out)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="Hugging Face checkpoint directory (or --random SHAPE) -> GGUF")
    p.add_argument("model_dir", nargs="?", help="directory with config.json, *.safetensors and the tokenizer")
    p.add_argument("-o", "--outfile", required=True, help="output .gguf path")
    p.add_argument("--outtype", default="f16", type=str.lower, choices=RANDOM_OUTTYPES,
                   help="file type; " + ", ".join(RANDOM_OUTTYPES[len(OUTTYPES):]) + " with --random only")
    p.add_argument("--pre", default=None,
                   help="tokenizer.ggml.pre to write when the BPE pre-tokenizer is not recognised")
    p.add_argument("-t", "--threads", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_random_args(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("quantize", help="GGUF -> GGUF at another quantization (llama-quantize's mixes)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("type", type=str.upper, choices=QUANT_FILE_TYPES)
    p.add_argument("-t", "--threads", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--method", choices=["ggml", "refine"], default="ggml",
                   help="ggml: llama-quantize's blocks, byte for byte; refine: least-squares refinement "
                        "of those blocks (lower error, ~3x slower) and a Q5_1 fallback for rows Q4_K cannot hold")
    p.set_defaults(func=cmd_quantize)
