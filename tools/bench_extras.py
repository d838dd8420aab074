"""Grammar, sampler and speculative-decoding measurements for tools/bench.py (--grammar,
--sampling, --speculative).

--grammar json: constrained vs unconstrained decode tokens/s on the same prompt, the per-token
grammar time of llmrt's matcher along the generated tokens, and llama.cpp's grammar sampler
(llama_sampler_init_grammar, same GBNF text) applying+accepting along the same tokens.
"""

from __future__ import annotations

import ctypes
import statistics
import time

import numpy as np

PROMPT = "A JSON object describing a cat, with name, age, colour, owner and a list of ten favourite toys:\n"


def decode_rate(llm, grammar, max_tokens):
    from llmrt.generation import GenerationStats

    llm.reset()
    stats = GenerationStats()
    for _ in llm.stream(PROMPT, max_tokens=max_tokens, stats=stats, grammar=grammar, temperature=0,
                        ignore_eos=grammar is None):
        pass
    return stats.generated_tokens / stats.decode_seconds, stats.tokens


def matcher_time(llm, grammar, tokens):
    m = grammar.matcher(llm.tokenizer)
    times = []
    for tok in tokens:
        t0 = time.perf_counter()
        m.allowed_mask()
        m.accept(tok)
        times.append(time.perf_counter() - t0)
    return times


def llama_cpp_grammar_time(model_path, gbnf, tokens):
    """llama.cpp's grammar sampler over the full vocabulary, along `tokens`; None if absent."""
    try:
        import llama_cpp as L
    except (ImportError, OSError, RuntimeError):  # not installed, or its library not found
        return None
    llm = L.Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    vocab = L.llama_model_get_vocab(llm.model)
    sampler = L.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
    n = llm.n_vocab()
    dtype = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
    buf = np.zeros(n, dtype=dtype)
    ptr = ctypes.cast(buf.ctypes.data, ctypes.POINTER(L.llama_token_data))
    times = []
    for tok in tokens:
        buf["id"] = np.arange(n, dtype=np.int32)
        buf["logit"] = 0.0
        arr = L.llama_token_data_array(data=ptr, size=n, selected=-1, sorted=False)
        t0 = time.perf_counter()
        L.llama_sampler_apply(sampler, ctypes.byref(arr))
        L.llama_sampler_accept(sampler, tok)
        times.append(time.perf_counter() - t0)
    L.llama_sampler_free(sampler)
    return times


def bench_grammar(llm, model_path, which: str, max_tokens: int = 128):
    from llmrt.grammar import Grammar, _EXAMPLES

    grammar = Grammar.json() if which == "json" else Grammar.from_example(which)
    gbnf = (_EXAMPLES / f"{which}.gbnf").read_text()
    free, _ = decode_rate(llm, None, max_tokens)
    cold, tokens = decode_rate(llm, grammar, max_tokens)        # masks computed as first met
    constrained, tokens = decode_rate(llm, grammar, max_tokens)  # masks cached on the grammar
    first_use = matcher_time(llm, Grammar.from_gbnf(gbnf), tokens)  # a fresh grammar: no cached masks
    ours = matcher_time(llm, grammar, tokens)
    theirs = llama_cpp_grammar_time(model_path, gbnf, tokens)
    print(f"grammar {which!r}: {len(tokens)} constrained tokens")
    print(f"  decode tok/s   unconstrained {free:7.1f}   constrained {constrained:7.1f} "
          f"(ratio {constrained / free:.2f}); with a new grammar's first masks {cold:7.1f} "
          f"(ratio {cold / free:.2f})")
    print(f"  grammar ms/token  llmrt first use {statistics.mean(first_use) * 1e3:.3f}, cached "
          f"{statistics.mean(ours) * 1e3:.3f}", end="")
    if theirs:
        print(f"   llama.cpp {statistics.mean(theirs) * 1e3:.3f}")
    else:
        print("   (llama.cpp not importable)")


def bench_sampling(n_vocab: int, iters: int = 200):
    import bench_sampling as bs
    from llmrt.sampling import SamplingParams

    xs = bs.logit_stream(n_vocab, iters)
    params = SamplingParams(seed=1)
    ours = bs.time_ours(params, xs)
    line = f"default sampler chain, n_vocab {n_vocab}: llmrt {statistics.median(ours) * 1e3:.3f} ms/token"
    if bs.L is not None:
        apply_t, _ = bs.time_llama(params, xs)
        line += (f", llama.cpp {statistics.median(apply_t) * 1e3:.3f} ms/token "
                 f"(ratio {statistics.median(ours) / statistics.median(apply_t):.2f}x)")
    print(line)


def edit_task(llm, n_tokens: int = 1500) -> list[int]:
    """An input-grounded prompt: a ~n_tokens slice of one of llmrt's own source files, then the
    start of the same file with one change asked for: the model rewrites the file, the kind of
    output prompt lookup speeds up. Written as a completion (the chat template would let a
    135M model answer with prose about the code instead)."""
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "python" / "llmrt" / "engine.py").read_text()
    ids = llm.tokenize(source, add_special=False)[:n_tokens]
    code = llm.detokenize(ids)
    text = ("Original file:\n```python\n" + code + "\n```\n\n"
            "The same file with the method `_make_room` renamed to `_free_cells`:\n```python\n")
    return llm.tokenize(text)


def bench_speculative(path, threads: int, draft: str, n_draft: int, max_tokens: int, repeat: int) -> None:
    """Decode tokens/s of the edit task with and without speculation (greedy, best of repeat),
    the draft tokens accepted, and whether both runs wrote the same tokens."""
    import llmrt

    results = {}
    label = draft if draft == "lookup" else "draft"
    for name, spec in (("plain", None), (label, draft)):
        llm = llmrt.LLM(str(path), n_ctx=4096, n_threads=threads, draft=spec, n_draft=n_draft)
        prompt = edit_task(llm)
        best, out = None, None
        for _ in range(max(1, repeat)):
            llm.reset()
            out = llm.generate_tokens(prompt, max_tokens=max_tokens, temperature=0, ignore_eos=True)
            stats = out.stats
            rate = len(out.tokens) / stats.decode_seconds if stats.decode_seconds else 0.0
            best = rate if best is None or rate > best else best
        results[name] = (best, out, stats)
        print(f"{name:>8}: prompt {len(prompt)} tokens, {len(out.tokens)} generated, decode {best:7.1f} tok/s"
              + (f", draft tokens accepted {stats.draft_accepted}/{stats.draft_tokens}"
                 f" ({stats.draft_accepted / max(1, stats.draft_tokens):.0%})" if spec else ""), flush=True)
    (p, a, _), (s, b, _) = results["plain"], results[label]
    same = "identical" if a.tokens == b.tokens else "different"
    print(f"speedup {s / p:.2f}x ({label}, n_draft {n_draft}); outputs {same}")
