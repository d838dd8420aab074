"""Speculative decoding: prompt lookup proposes, the model checks in one batched decode.
Greedy output equals plain decoding; sampled output follows the model's distribution exactly
(chi-square on a tiny random model); the drafter finds what it should."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import llmrt
from llmrt.speculative import PromptLookup

# Batch-shape noise (README): a divergence is only excused where the plain run's top two
# candidates were nearly tied.
TIE_MARGIN = 0.25


def test_prompt_lookup_proposals():
    d = PromptLookup(n_draft=3)
    assert d.propose([1, 2, 3, 4, 9, 1, 2, 3], 8) == [4, 9, 1]           # the 3-gram 1 2 3
    assert d.propose([1, 2, 3, 4, 9, 1, 2, 3], 2) == [4, 9]              # the caller's limit
    assert d.propose([7, 1, 5, 6, 8, 1, 5, 9, 1, 5], 8) == [9, 1, 5]     # the latest match wins
    assert d.propose([1, 2, 3], 8) == []                                  # nothing to copy
    assert PromptLookup(4, ngram_max=2).propose([5, 6, 7, 5, 6], 8) == [7, 5, 6]


def _document() -> str:
    from pathlib import Path

    return (Path(llmrt.__file__).parent / "speculative.py").read_text()[:1200]


ASKS = ["Repeat the text above exactly.", "Copy the first paragraph.", "Quote the class docstring.",
        "Rewrite the text in capital letters.", "Summarize the text.", "List the function names.",
        "Repeat the code, adding comments.", "Copy the text and fix any typos."]


def _assert_same_greedy_tokens(plain, spec, ids, max_tokens):
    kw = dict(max_tokens=max_tokens, temperature=0, logprobs=2)
    a = plain.generate_tokens(ids, **kw)
    b = spec.generate_tokens(ids, **kw)
    for x, y in zip(a, b):
        if x.tokens == y.tokens:
            continue
        i = next((k for k, (s, t) in enumerate(zip(x.tokens, y.tokens)) if s != t), min(len(x.tokens), len(y.tokens)))
        top = x.top_logprobs[i]
        assert top[0][1] - top[1][1] < TIE_MARGIN, f"diverged at token {i} with margin {top[0][1] - top[1][1]}"
    return b


@pytest.fixture(scope="module")
def plain_smollm2(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=2048, n_threads=2)


def test_greedy_output_equals_plain_decoding(smollm2_path, plain_smollm2):
    """8 prompts, 256 tokens, batched together: the same tokens with and without lookup."""
    doc = _document()
    ids = [plain_smollm2.chat_prompt_ids([{"role": "user", "content": f"{doc}\n\n{ask}"}]) for ask in ASKS]
    spec = llmrt.LLM(smollm2_path, n_ctx=2048, n_threads=2, draft="lookup", n_draft=8)
    b = _assert_same_greedy_tokens(plain_smollm2, spec, ids, 256)
    assert spec.stats["draft_accepted"] > 0.3 * sum(len(c.tokens) for c in b)


def test_draft_model_greedy_equals_plain_decoding(smollm2_path, plain_smollm2):
    """A draft model (here the model itself: nearly every draft token is accepted, so the
    multi-token path runs on every step) gives the plain run's tokens; 8 prompts, 256 tokens."""
    prompts = ["The capital of France is", "Once upon a time", "def fib(n):", "List three colours:",
               "The best way to learn", "In 1969,", "Water is made of", "My favourite food is"]
    ids = [plain_smollm2.tokenize(p) for p in prompts]
    spec = llmrt.LLM(smollm2_path, n_ctx=2048, n_threads=2, draft=str(smollm2_path), n_draft=6)
    b = _assert_same_greedy_tokens(plain_smollm2, spec, ids, 256)
    generated = sum(len(c.tokens) for c in b)
    assert spec.stats["draft_accepted"] > 0.8 * generated
    assert spec.engine.stats.steps < generated / 3      # several tokens per target step


def test_draft_model_needs_the_same_vocabulary(smollm2_path, gemma3_path):
    with pytest.raises(llmrt.ModelError, match="vocabulary"):
        llmrt.LLM(smollm2_path, n_ctx=256, n_threads=2, draft=str(gemma3_path))


def _chi_square_ok(counts: Counter, probs: np.ndarray, n: int) -> tuple[float, int]:
    """(statistic, degrees of freedom) over the tokens expected 5+ times, the rest pooled."""
    big = [t for t in range(len(probs)) if probs[t] * n >= 5]
    obs = [counts.get(t, 0) for t in big] + [n - sum(counts.get(t, 0) for t in big)]
    exp = [probs[t] * n for t in big] + [n * (1 - sum(probs[t] for t in big))]
    pairs = [(o, e) for o, e in zip(obs, exp) if e > 0]
    return sum((o - e) ** 2 / e for o, e in pairs), len(pairs) - 1


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """A tiny random model and a Q4_0 copy of it: one vocabulary, slightly different logits."""
    from llmrt.convert import random_model
    from llmrt.convert.quantize import quantize_file

    d = tmp_path_factory.mktemp("tiny")
    path = random_model.write_random(d / "tiny.gguf", None, "llama", "f32", seed=3, progress=False,
                                     hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vocab=320, context=256)
    return path, quantize_file(path, d / "tiny-q4_0.gguf", "q4_0", progress=False)


@pytest.mark.parametrize("source", ["lookup", "draft model"])
def test_sampling_keeps_the_model_distribution(tiny_pair, source):
    """Token 2 is sampled while a draft is checked: its distribution given token 1 must be the
    model's softmax, whatever the draft proposed."""
    path, quantized = tiny_pair
    draft = "lookup" if source == "lookup" else str(quantized)
    pattern = [40, 41, 42, 43]
    prompt = pattern * 4 + pattern[:3]        # lookup proposes 43, 40, 41, ... after any token
    bias = {43: 4.0, 40: 3.0}                 # make the drafted tokens likely: both paths run
    kw = dict(max_tokens=4, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, logit_bias=bias)
    llm = llmrt.LLM(path, n_ctx=64, n_threads=2, n_parallel=64, draft=draft, n_draft=4)
    pairs = []
    for _ in range(48):
        pairs += [tuple(c.tokens) for c in llm.generate_tokens([prompt] * 64, **kw)]
    assert llm.stats["draft_tokens"] > 0 and 0 < llm.stats["draft_accepted"] < llm.stats["draft_tokens"]
    first = Counter(p[0] for p in pairs if p).most_common(1)[0][0]
    seconds = Counter(p[1] for p in pairs if len(p) > 1 and p[0] == first)
    n = sum(seconds.values())
    assert n > 500
    print(f"\n{len(pairs)} samples; {llm.stats['draft_accepted']} of {llm.stats['draft_tokens']} draft tokens "
          f"accepted; token 2 after {first}: {n} samples")
    logits = llmrt.LLM(path, n_ctx=64, n_threads=2).logits(prompt + [first])[-1].astype(np.float64)
    for t, b in bias.items():
        logits[t] += b
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    stat, df = _chi_square_ok(seconds, probs, n)
    print(f"chi-square {stat:.1f} with {df} degrees of freedom")
    # about p < 1e-4 for a chi-square with df degrees of freedom (normal approximation)
    assert stat < df + 4 * math.sqrt(2 * df) + 10, (stat, df)


def test_rejected_drafts_are_probed_rather_than_paid_for_every_step():
    from types import SimpleNamespace

    from llmrt.speculative import PROBE_EVERY, WARMUP_DRAFT_TOKENS, worth_drafting

    def req(checked, accepted, generated, last=0):
        return SimpleNamespace(stats=SimpleNamespace(draft_tokens=checked, draft_accepted=accepted),
                               generated=[0] * generated, last_draft_accepted=last)

    assert worth_drafting(req(WARMUP_DRAFT_TOKENS - 1, 0, 5))        # still warming up
    assert worth_drafting(req(100, 50, 5))                           # drafts are paying
    rejected = [worth_drafting(req(100, 0, n)) for n in range(1, 1 + 4 * PROBE_EVERY)]
    assert sum(rejected) == 4                                        # one probe in PROBE_EVERY
    assert worth_drafting(req(100, 1, 3, last=1))                    # a probe was accepted: back on
