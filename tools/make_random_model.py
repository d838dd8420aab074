#!/usr/bin/env python3
"""A random-weight Hugging Face checkpoint of realistic shape, converted to GGUF, for benchmarks.

    python tools/make_random_model.py mixtral out/moe --hidden 768 --layers 8 --ffn 1536 \\
        --experts 8 --experts-used 2 --outtype q8_0
    python tools/make_random_model.py llama out/dense --hidden 768 --layers 8 --ffn 3072 --outtype q8_0

The dense llama with ffn = experts_used * the MoE's ffn has the MoE's active parameter count
(the router apart), so decode speeds of the two compare active against total parameters.
Weights come from transformers' own random init (bf16 on disk); the tokenizer is the tiny
byte-level BPE of tests/tiny_hf.py. Writes OUT_DIR (the checkpoint) and OUT_DIR.gguf.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))


def build(arch: str, out: Path, hidden: int, layers: int, heads: int, kv_heads: int, ffn: int,
          experts: int, experts_used: int) -> Path:
    import torch
    import transformers as tf

    from tiny_hf import LLAMA3_REGEX, train_bpe

    out.mkdir(parents=True, exist_ok=True)
    n_tok = train_bpe(out, LLAMA3_REGEX, "<|begin_of_text|>", "<|end_of_text|>")
    common = dict(vocab_size=n_tok, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=4096,
                  rms_norm_eps=1e-5, tie_word_embeddings=False, rope_theta=10000.0, bos_token_id=0,
                  eos_token_id=1)
    if arch == "mixtral":
        cfg = tf.MixtralConfig(**common, sliding_window=None, num_local_experts=experts,
                               num_experts_per_tok=experts_used)
    elif arch == "llama":
        cfg = tf.LlamaConfig(**common)
    else:
        raise SystemExit(f"unknown arch {arch!r} (mixtral, llama)")
    torch.manual_seed(0)
    with torch.device("cpu"):
        model = tf.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    n = sum(p.numel() for p in model.parameters())
    print(f"{arch}: {n / 1e6:.1f}M parameters", file=sys.stderr)
    model.save_pretrained(out, safe_serialization=True)
    return out


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
    ap.add_argument("--outtype", default="q8_0")
    args = ap.parse_args()

    from llmrt.convert import converter

    d = build(args.arch, args.out, args.hidden, args.layers, args.heads, args.kv_heads, args.ffn,
              args.experts, args.experts_used)
    gguf_path = args.out.with_suffix(".gguf")
    converter.convert(d, gguf_path, args.outtype, progress=False)
    print(gguf_path)


if __name__ == "__main__":
    main()
