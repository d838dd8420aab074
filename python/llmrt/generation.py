"""One request's generation policy: logits -> grammar mask -> sampler chain -> token -> stop
conditions -> streamed text. The engine (engine.py) decides when a request's tokens run and in
which KV cells; this file decides what a request does with its logits.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .arguments import is_integer
from .errors import SamplingError
from .sampling import top_logprobs


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    prompt_tokens_cached: int = 0     # prompt tokens whose K/V came from the prefix cache
    generated_tokens: int = 0
    prefill_seconds: float = 0.0      # submission to the first sampled token
    decode_seconds: float = 0.0       # first sampled token to the end
    context_shifts: int = 0
    draft_tokens: int = 0             # speculative decoding: draft tokens checked
    draft_accepted: int = 0           # and accepted
    finish_reason: str = ""           # "stop" (end-of-generation, stop string, grammar), "length", "cancelled"
    tokens: list[int] = field(default_factory=list)


@dataclass
class TokenEvent:
    """One step of a request: the sampled token (None for the final flush of held-back text),
    the text it releases (possibly empty while a stop string might still match), and with
    logprobs requested, its log-probability and the top-n (id, log-probability) pairs."""
    token: int | None
    text: str
    logprob: float | None = None
    top_logprobs: list[tuple[int, float]] | None = None


@dataclass(frozen=True)
class LazyGrammar:
    """A grammar that constrains the output only from the first trigger string on (tool calls:
    the model writes free text until it opens a call, then the call must parse). The grammar
    matches the text from the trigger itself onwards."""
    grammar: Any
    triggers: tuple[str, ...]


@dataclass
class Completion:
    """What `LLM.generate_tokens` returns."""
    text: str
    tokens: list[int]
    finish_reason: str
    logprobs: list[float] | None = None                       # per generated token
    top_logprobs: list[list[tuple[int, float]]] | None = None  # per generated token
    stats: GenerationStats = field(default_factory=GenerationStats)


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


def check_stop(stop) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
        raise SamplingError("stop must be a string or a list of strings")
    return list(stop)


def check_max_tokens(max_tokens) -> int | None:
    """None or -1: no limit (end-of-generation, or the context without context shift)."""
    if max_tokens is None or (is_integer(max_tokens) and max_tokens == -1):
        return None
    if not is_integer(max_tokens) or max_tokens < 0:
        raise SamplingError(f"max_tokens must be an int >= 0 (or -1 / None: no limit), got {max_tokens!r}")
    return int(max_tokens)


class Request:
    """One prompt being completed: its sampler chain, grammar matcher, detokenizer, stop strings
    and the events it has produced but nobody has consumed yet. Scheduling state (`pending`
    tokens to feed, the `seq` entry holding its cells) is the engine's."""

    def __init__(self, prompt_ids: list[int], sampler_chain, matcher, detokenizer, *, eog_ids: frozenset,
                 max_tokens: int | None = None, stop: Sequence[str] = (), n_probs: int = 0,
                 stats: GenerationStats | None = None, lazy_grammar: LazyGrammar | None = None,
                 make_matcher: Callable[[Any], Any] | None = None, drafter=None):
        """sampler_chain: a SamplerChain, fed the prompt here; matcher: a grammar matcher or None;
        detokenizer: the tokenizer's streaming detokenizer; eog_ids: tokens that end the output
        (empty to ignore end-of-generation); lazy_grammar: a grammar switched on at a trigger
        string, its matcher made by make_matcher(grammar). LLM.new_request builds all of these
        from a model."""
        self.chain = sampler_chain
        for t in prompt_ids:
            self.chain.accept(t)
        self.matcher = matcher
        self.lazy = lazy_grammar if matcher is None else None
        self._make_matcher = make_matcher
        self._lazy_text = ""   # output so far, searched for a trigger while self.lazy waits
        self.eog = eog_ids
        self.detok = detokenizer
        self.stops = StopStringFilter(stop)
        self.max_tokens = max_tokens
        self.n_probs = int(n_probs)
        self.prompt = list(prompt_ids)
        self.stats = stats if stats is not None else GenerationStats()
        self.stats.prompt_tokens = len(prompt_ids)
        self.generated: list[int] = []
        self.events: deque[TokenEvent] = deque()
        self.done = False
        self.error: BaseException | None = None
        # engine state
        self.pending: list[int] = list(prompt_ids)  # tokens to decode next
        self.seq = None                              # engine.Seq holding this request's cells
        self.order = 0                               # admission order (preemption picks the newest)
        self.drafter = drafter                       # speculative decoding's draft source, or None
        self.draft: list[int] = []                   # draft tokens being checked in this step
        self.last_draft_accepted = 0                 # draft tokens the last speculating step kept
        self.t_submit = time.perf_counter()
        self.t_first: float | None = None
        if max_tokens == 0:
            self.finish("length")

    @property
    def prefilling(self) -> bool:
        return self.t_first is None

    def on_logits(self, logits: np.ndarray) -> None:
        """Sample the next token from (n_vocab,) logits and act on it."""
        if self.t_first is None:
            self.t_first = time.perf_counter()
            self.stats.prefill_seconds = self.t_first - self.t_submit
        mask = self.matcher.allowed_mask() if self.matcher is not None else None
        token = self.chain.sample(logits, allowed_mask=mask)
        self.chain.accept(token)
        if self.matcher is not None:
            self.matcher.accept(token)
        if token in self.eog:
            self.finish("stop")
            return
        lp = top = None
        if self.n_probs > 0:
            ids, lps, lp = top_logprobs(logits, self.n_probs, token)
            top = [(int(i), float(v)) for i, v in zip(ids, lps)]
        self.generated.append(token)
        self.stats.tokens.append(token)
        self.stats.generated_tokens += 1
        raw = self.detok.feed([token])
        if self.lazy is not None:
            self._watch_trigger(raw)
        text = self.stops.feed(raw)
        self.events.append(TokenEvent(token, text, lp, top))
        if self.stops.stopped or (self.matcher is not None and self.matcher.is_finished()):
            self.finish("stop")
        elif self.max_tokens is not None and len(self.generated) >= self.max_tokens:
            self.finish("length")
        else:
            self.pending = [token]

    def on_logits_rows(self, rows: np.ndarray, draft: list[int]) -> int:
        """Speculative decoding: rows[i] are the logits after draft[:i]. Sample position by
        position as on_logits does; a sample equal to the draft token accepts it and moves on,
        any other ends the step (it becomes the next token to decode). Returns how many draft
        tokens were accepted (speculative.py: why this keeps the sampling exact)."""
        accepted = 0
        for i in range(len(rows)):
            n = len(self.generated)
            self.on_logits(rows[i])
            if self.done or i == len(draft) or len(self.generated) == n or self.generated[-1] != draft[i]:
                break
            accepted += 1
        self.stats.draft_tokens += len(draft)
        self.stats.draft_accepted += accepted
        self.last_draft_accepted = accepted
        return accepted

    def _watch_trigger(self, text: str) -> None:
        """Switch the lazy grammar on at the first trigger, fed with the text from the trigger
        on. If that text already strays from the grammar (the token that completed the trigger
        ran past it), the output stays unconstrained."""
        self._lazy_text += text
        hits = [i for i in (self._lazy_text.find(t) for t in self.lazy.triggers) if i >= 0]
        if not hits:
            keep = max(len(t) for t in self.lazy.triggers)
            self._lazy_text = self._lazy_text[-keep:]
            return
        matcher = self._make_matcher(self.lazy.grammar)
        self.lazy, tail = None, self._lazy_text[min(hits):]
        if matcher.accept_bytes(tail.encode("utf-8")):
            self.matcher = matcher

    def finish(self, reason: str, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        self.error = error
        self.pending = []
        self.stats.finish_reason = reason
        if self.t_first is not None:
            self.stats.decode_seconds = time.perf_counter() - self.t_first
        if error is None and not self.stops.stopped:
            tail = self.stops.feed(self.detok.flush()) + self.stops.flush()
            if tail:
                self.events.append(TokenEvent(None, tail))
