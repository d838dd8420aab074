"""The `llmrt` command: run, chat, info, pull.

    llmrt run smollm2-135m "Once upon a time" -n 64 --temp 0.7 --stats
    llmrt chat smollm2-135m --system "You are terse."
    llmrt info gemma3-270m
    llmrt pull gemma3-270m
"""

from __future__ import annotations

import argparse
import sys

from . import convert
from .errors import LLMRTError


MODEL_HELP = "GGUF path, alias (smollm2-135m, gemma3-270m) or hf:OWNER/REPO[/FILE.gguf|:QUANT]"


def add_model_args(p: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        p.add_argument("-m", "--model", default=None, help=MODEL_HELP + " (default: smollm2-135m)")
    else:
        p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--file", default=None, help="which GGUF of an hf: repository (name or quant, e.g. Q4_K_M)")
    p.add_argument("-c", "--ctx-size", type=int, default=4096, help="context size in tokens")
    p.add_argument("-t", "--threads", type=int, default=None, help="threads (default: physical cores)")
    p.add_argument("--draft", "-md", default=None, metavar="lookup|MODEL",
                   help="speculative decoding: prompt lookup, or a smaller model with the same vocabulary")
    p.add_argument("--n-draft", "--draft-max", type=int, default=8, help="most draft tokens checked per step")
    add_cache_type_args(p)


def add_cache_type_args(p: argparse.ArgumentParser) -> None:
    """llama.cpp's --cache-type-k / --cache-type-v: the KV cache element types."""
    from .kv_types import DEFAULT_KV_TYPE, KV_TYPES

    for side, short in (("k", "-ctk"), ("v", "-ctv")):
        p.add_argument(f"--cache-type-{side}", short, dest=f"cache_type_{side}", default=DEFAULT_KV_TYPE,
                       type=str.lower, choices=KV_TYPES, metavar="TYPE",
                       help=f"{side.upper()} cache type: {', '.join(KV_TYPES)} (default: {DEFAULT_KV_TYPE})")


def add_sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--max-tokens", "--n-predict", dest="max_tokens", type=int, default=256)
    p.add_argument("--temp", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=40)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--min-p", type=float, default=0.05)
    p.add_argument("--repeat-penalty", type=float, default=1.0)
    p.add_argument("--repeat-last-n", type=int, default=64)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--ignore-eos", action="store_true")
    p.add_argument("--stats", action="store_true", help="print prefill and decode speed at the end")
    p.add_argument("--grammar-file", default=None, help="constrain output with a GBNF grammar file")
    p.add_argument("--json-schema", default=None, help="constrain output to a JSON schema (text or @file)")
    p.add_argument("--json", action="store_true", help="constrain output to any JSON value")


def sampling_kwargs(args) -> dict:
    return dict(temp=args.temp, top_k=args.top_k, top_p=args.top_p, min_p=args.min_p,
                penalty_repeat=args.repeat_penalty, penalty_last_n=args.repeat_last_n,
                seed=args.seed, ignore_eos=args.ignore_eos, grammar=grammar_from_args(args))


def grammar_from_args(args):
    """--grammar-file / --json-schema / --json, as llama.cpp's flags."""
    import json

    from .grammar import Grammar

    if args.grammar_file:
        with open(args.grammar_file, encoding="utf-8") as f:
            return Grammar.from_gbnf(f.read())
    if args.json_schema:
        text = args.json_schema
        if text.startswith("@"):
            with open(text[1:], encoding="utf-8") as f:
                text = f.read()
        try:
            return Grammar.from_json_schema(json.loads(text))
        except json.JSONDecodeError as e:
            from .errors import GrammarError

            raise GrammarError(f"--json-schema is not valid JSON: {e}") from None
    if args.json:
        return Grammar.json()
    return None


def load(args):
    from . import models
    from .llm import LLM

    path = models.resolve(args.model or models.DEFAULT_MODEL, filename=args.file)
    if args.verbose:
        print(f"llmrt: loading {path}", file=sys.stderr)
    llm = LLM(path, n_ctx=args.ctx_size, n_threads=args.threads, draft=getattr(args, "draft", None),
              n_draft=getattr(args, "n_draft", 8), kv_type_k=args.cache_type_k, kv_type_v=args.cache_type_v)
    if args.verbose:
        print(f"llmrt: {llm.architecture}, {llm.n_vocab} tokens, n_ctx {llm.n_ctx}, "
              f"{llm.n_threads} threads, KV cache {llm.kv_type_k}/{llm.kv_type_v} "
              f"({llm.kv_bytes_per_token * llm.n_cells / 2**20:.1f} MiB)", file=sys.stderr)
    return llm


def print_stats(stats) -> None:
    pre = stats.prompt_tokens / stats.prefill_seconds if stats.prefill_seconds else 0.0
    dec = stats.generated_tokens / stats.decode_seconds if stats.decode_seconds else 0.0
    print(f"\nprefill: {stats.prompt_tokens} tokens, {pre:.1f} tok/s | decode: "
          f"{stats.generated_tokens} tokens, {dec:.1f} tok/s", file=sys.stderr)


def split_model_prompt(args) -> None:
    """`llmrt run [MODEL] PROMPT`: one positional is the prompt, two are model and prompt."""
    words = args.words
    if len(words) == 1:
        args.prompt = words[0]
    elif len(words) == 2 and args.model is None:
        args.model, args.prompt = words
    else:
        raise SystemExit("llmrt run: expected [MODEL] PROMPT")


def cmd_run(args) -> int:
    from .generation import GenerationStats

    split_model_prompt(args)
    llm = load(args)
    stats = GenerationStats()
    for piece in llm.stream(args.prompt, max_tokens=args.max_tokens, stats=stats, **sampling_kwargs(args)):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    if args.stats:
        print_stats(stats)
    return 0


def cmd_chat(args) -> int:
    from .generation import GenerationStats

    args.model = args.model or args.positional_model
    llm = load(args)
    messages = [{"role": "system", "content": args.system}] if args.system else []
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        line = line.rstrip("\n")
        if line.strip() in ("/exit", "/quit"):
            break
        if line.strip() == "/clear":
            messages = messages[:1] if args.system else []
            continue
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        stats = GenerationStats()
        answer = []
        try:
            for piece in llm.chat(messages, max_tokens=args.max_tokens, stream=True, stats=stats,
                                  **sampling_kwargs(args)):
                answer.append(piece)
                sys.stdout.write(piece)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass  # Ctrl-C ends this answer, not the chat
        sys.stdout.write("\n")
        messages.append({"role": "assistant", "content": "".join(answer)})
        if args.stats:
            print_stats(stats)
    return 0


def cmd_info(args) -> int:
    from collections import Counter

    from . import models
    from .gguf_file import GGUFFile

    path = models.resolve(args.model, filename=args.file)
    f = GGUFFile(path)
    md = f.metadata
    arch = md.get("general.architecture", "?")
    n_params = sum(t.n_elements for t in f.tensors)
    types = Counter()
    for t in f.tensors:
        types[t.type_name] += t.n_elements
    rows = [
        ("file", str(path)),
        ("size", f"{path.stat().st_size / 2**20:.1f} MiB"),
        ("name", md.get("general.name", "")),
        ("architecture", arch),
        ("parameters", f"{n_params / 1e6:.1f} M"),
        ("layers", md.get(f"{arch}.block_count", "?")),
        ("embedding", md.get(f"{arch}.embedding_length", "?")),
        ("heads (kv)", f"{md.get(f'{arch}.attention.head_count', '?')} ({md.get(f'{arch}.attention.head_count_kv', '?')})"),
        *([("experts", f"{md[f'{arch}.expert_count']} ({md.get(f'{arch}.expert_used_count', '?')} per token)")]
          if md.get(f"{arch}.expert_count") else []),
        ("context length", md.get(f"{arch}.context_length", "?")),
        *kv_cache_rows(md, arch),
        ("vocabulary", f"{len(md.get('tokenizer.ggml.tokens', []))} ({md.get('tokenizer.ggml.model', '?')})"),
        ("chat template", "yes" if md.get("tokenizer.chat_template") else "no"),
        ("quantization", ", ".join(f"{k} {100 * v / n_params:.0f}%" for k, v in types.most_common())),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def cmd_bench(args) -> int:
    from . import _core
    from .bench import bench_tokens, measure

    args.file = getattr(args, "file", None)
    args.ctx_size = args.prompt_tokens + args.decode_tokens + 8
    llm = load(args)
    tokens = bench_tokens(llm.n_vocab, args.prompt_tokens)
    pre, dec = measure(llm, tokens, args.decode_tokens, args.repeat)
    print(f"{llm.model_path.name}: {llm.n_threads} threads, SIMD {_core.simd_level()}")
    print(f"prefill {args.prompt_tokens} tokens: {args.prompt_tokens / pre:8.1f} tok/s")
    print(f"decode  {args.decode_tokens} tokens: {args.decode_tokens / dec:8.1f} tok/s")
    return 0


def kv_cache_rows(md, arch: str) -> list[tuple[str, str]]:
    """Per KV cache type (f16, q8_0, q4_0; the same for K and V): bytes per token and for the
    full training context, from the metadata alone."""
    from .kv_types import kv_bytes_per_cell

    try:
        from .arch import lookup

        h = lookup(arch).hparams(md)
    except LLMRTError:
        return [("KV cache", "?")]
    ctx = int(md.get(f"{arch}.context_length", 0) or 0)
    rows = []
    for t in ("f16", "q8_0", "q4_0"):
        try:
            per_token = kv_bytes_per_cell(h, t, t)
        except LLMRTError:
            rows.append((f"KV cache ({t})", "n/a (head size is no multiple of 32)"))
            continue
        rows.append((f"KV cache ({t})", f"{per_token / 1024:.1f} KiB/token" +
                     (f", {per_token * ctx / 2**20:.0f} MiB at {ctx}" if ctx else "")))
    return rows


def cmd_pull(args) -> int:
    from . import models

    print(models.resolve(args.model, progress=True, filename=args.file))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmrt", description="Run GGUF language models.")
    parser.add_argument("-v", "--verbose", action="store_true", help="load details; tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="one completion, streamed")
    add_model_args(p, optional=True)
    p.add_argument("words", nargs="+", metavar="[MODEL] PROMPT")
    add_sampling_args(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("chat", help="interactive chat with the model's template")
    add_model_args(p, optional=True)
    p.add_argument("positional_model", nargs="?", default=None, metavar="MODEL")
    p.add_argument("--system", default=None)
    add_sampling_args(p)
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("info", help="describe a model file")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--file", default=None)
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("bench", help="prefill and decode speed (tools/bench.py compares with llama.cpp)")
    add_model_args(p)
    p.add_argument("-p", "--prompt-tokens", type=int, default=512)
    p.add_argument("-n", "--decode-tokens", type=int, default=128)
    p.add_argument("-r", "--repeat", type=int, default=3)
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("pull", help="fetch a model into the cache and print its path")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--file", default=None)
    p.set_defaults(func=cmd_pull)
    convert.cli.add_parsers(sub)
    from .server.cli import add_parser as add_serve_parser
    add_serve_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (LLMRTError, OSError) as e:
        if args.verbose:
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"llmrt: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
