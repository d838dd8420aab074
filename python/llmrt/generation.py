"""The single-sequence generation loop: prompt ids -> sampled ids -> text pieces.

Kept apart from llm.py so the policy (sampling, stop conditions, streaming text) reads in one
place. Batched generation over many sequences belongs to engine.py once it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Sequence

from .sampling import SamplingParams, build_chain

if TYPE_CHECKING:
    from .llm import LLM


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    finish_reason: str = ""  # "stop" (end-of-generation token or stop string), "length"
    tokens: list[int] = field(default_factory=list)


class StopStringFilter:
    """Holds back text that might be the start of a stop string until it is known not to be."""

    def __init__(self, stops: Sequence[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if not self.stops:
            return text
        self.pending += text
        cut = min((i for i in (self.pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self.pending = self.pending[:cut], ""
            return out
        # keep the longest tail that is a prefix of some stop string
        keep = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.pending)), keep, -1):
                if s.startswith(self.pending[-k:]):
                    keep = k
                    break
        out = self.pending[:len(self.pending) - keep]
        self.pending = self.pending[len(self.pending) - keep:]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def generate_pieces(llm: "LLM", prompt_ids: list[int], max_tokens: int, stop: Sequence[str],
                    params: SamplingParams, stats: GenerationStats) -> Iterator[str]:
    """Yield text pieces of one completion; fills `stats` as it goes."""
    import time

    tok = llm.tokenizer
    chain = build_chain(params, llm.n_vocab, eog_tokens=tok.eog_ids, n_ctx=llm.n_ctx,
                        n_ctx_train=llm.n_ctx_train or None, token_text=tok.token_text,
                        tokenize=lambda s: tok.tokenize(s, add_special=False, parse_special=False))
    for t in prompt_ids:
        chain.accept(t)
    detok = tok.streaming_detokenizer()
    stops = StopStringFilter(stop)
    stats.prompt_tokens = len(prompt_ids)
    t0 = time.perf_counter()
    logits = llm.eval_prefix(prompt_ids)
    stats.prefill_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    stats.finish_reason = "length"
    position = len(prompt_ids)
    for _ in range(max_tokens):
        token = chain.sample(logits)
        chain.accept(token)
        if tok.is_eog(token) and not params.ignore_eos:
            stats.finish_reason = "stop"
            break
        stats.tokens.append(token)
        stats.generated_tokens += 1
        text = stops.feed(detok.feed([token]))
        if text:
            yield text
        if stops.stopped:
            stats.finish_reason = "stop"
            break
        position += 1
        if position >= llm.n_ctx:
            break  # context full: stop rather than overflow (context shift comes with kv.py)
        logits = llm.eval_next(token)
    stats.decode_seconds = time.perf_counter() - t0
    if not stops.stopped:
        tail = stops.feed(detok.flush()) + stops.flush()
        if tail:
            yield tail
