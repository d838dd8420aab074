#!/usr/bin/env python3
"""Random-weight GGUF of a given shape, for benchmarks: the old command line of this script
over `llmrt convert --random` (python/llmrt/convert/random_model.py), kept for scripts that
call it. New uses: `llmrt convert --random SHAPE --arch ARCH -o OUT.gguf --outtype TYPE`.

    python tools/make_random_model.py mixtral out/moe --hidden 768 --layers 8 --ffn 1536 \\
        --experts 8 --experts-used 2 --outtype q8_0
    python tools/make_random_model.py llama out/dense --hidden 768 --layers 8 --ffn 3072 --outtype q8_0

writes out/moe.gguf and out/dense.gguf. The dense llama with ffn = experts_used * the MoE's ffn
has the MoE's active parameter count (the router apart), so decode speeds of the two compare
active against total parameters. (This script used to build a transformers checkpoint with a
320-token BPE and convert it; the vocabulary now defaults to 512 tokens, the smallest round size
that holds the synthetic SentencePiece vocabulary Mixtral-style files get.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch", choices=["mixtral", "llama"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1536)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--experts-used", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--outtype", default="q8_0")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from llmrt.convert.random_model import write_random

    moe = dict(experts=args.experts, experts_used=args.experts_used) if args.arch == "mixtral" else {}
    out = write_random(args.out.with_suffix(".gguf"), None, args.arch, args.outtype, seed=args.seed,
                       hidden=args.hidden, layers=args.layers, heads=args.heads, kv_heads=args.kv_heads,
                       ffn=args.ffn, vocab=args.vocab, tied=False, **moe)
    print(out)


if __name__ == "__main__":
    main()
