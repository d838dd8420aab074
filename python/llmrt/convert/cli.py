"""`llmrt convert` and `llmrt quantize` subcommands (registered by llmrt.cli.build_parser)."""

from __future__ import annotations

import argparse

# Kept here (not imported from converter/mix) so registering the parsers stays cheap; the
# tests check they agree with the tables.
OUTTYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k")
QUANT_FILE_TYPES = ("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M",
                    "Q5_K_S", "Q5_K_M", "Q6_K")


def cmd_convert(args) -> int:
    from .converter import convert

    out = convert(args.model_dir, args.outfile, outtype=args.outtype, threads=args.threads,
                  progress=False if args.quiet else None, pre=args.pre)
    print(out)
    return 0


def cmd_quantize(args) -> int:
    from .quantize import quantize_file

    out = quantize_file(args.input, args.output, args.type, threads=args.threads,
                        progress=False if args.quiet else None)
    print(out)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="Hugging Face checkpoint directory -> GGUF")
    p.add_argument("model_dir", help="directory with config.json, *.safetensors and the tokenizer")
    p.add_argument("-o", "--outfile", required=True, help="output .gguf path")
    p.add_argument("--outtype", default="f16", type=str.lower, choices=OUTTYPES)
    p.add_argument("--pre", default=None,
                   help="tokenizer.ggml.pre to write when the BPE pre-tokenizer is not recognised")
    p.add_argument("-t", "--threads", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("quantize", help="GGUF -> GGUF at another quantization (llama-quantize's mixes)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("type", type=str.upper, choices=QUANT_FILE_TYPES)
    p.add_argument("-t", "--threads", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_quantize)
