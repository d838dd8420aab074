"""Logit bias: add a fixed bias to chosen tokens (-inf bans a token; `ignore_eos` is built on it)."""

from __future__ import annotations

from numbers import Real
from typing import Iterable, Mapping

import numpy as np

from ..arguments import is_integer
from .base import Candidates, Sampler, check
from .penalties import _positions


class LogitBias(Sampler):
    """bias: {token: bias} or [(token, bias), ...]; repeated tokens add up (llama.cpp's fast path).
    A token is an integer id, or its decimal string (JSON object keys, as in OpenAI's API); a
    bias is a number, +-inf allowed, NaN refused. Tokens outside [0, n_vocab) are an error."""

    name = "logit-bias"

    def __init__(self, n_vocab: int, bias: Mapping[int, float] | Iterable[tuple[int, float]] = ()):
        items = bias_entries(bias)
        self.n_vocab = int(n_vocab)
        tokens = np.array([t for t, _ in items], dtype=np.int64)
        biases = np.array([b for _, b in items], dtype=np.float64).astype(np.float32)
        # one entry per token, so the lookup by sorted id below sees every bias
        self.tokens, where = np.unique(tokens, return_inverse=True)
        self.biases = np.zeros(self.tokens.size, dtype=np.float32)
        np.add.at(self.biases, where, biases)
        check(not np.isnan(self.biases).any(), "logit_bias values must not be NaN")
        bad = self.tokens[(self.tokens < 0) | (self.tokens >= n_vocab)]
        check(bad.size == 0, f"logit_bias token ids out of range [0, {n_vocab}): {bad[:5].tolist()}")
        # Only bans (ignore_eos and the like): the biased argmax is the plain one unless that
        # token is banned, which a set lookup tells.
        self.banned = frozenset(self.tokens.tolist()) if bool(np.all(self.biases == -np.inf)) else None

    @property
    def active(self) -> bool:
        """Whether apply() can change anything."""
        return self.tokens.size > 0

    def apply(self, cands: Candidates) -> None:
        if self.tokens.size == 0:
            return
        pos, which = _positions(cands, self.tokens)
        if pos.size == 0:
            return
        logits = cands.mutable_logits()
        logits[pos] += self.biases[which]
        cands.sorted = False

    def argmax(self, cands: Candidates) -> int | None:
        """Index of the first maximum of the biased logits, read without copying them (the
        temperature-0 chain's case; the copy of a 50k-262k row costs more than the argmax).
        None when the unbiased maximum is itself a biased token: then apply() and an argmax."""
        logits = cands.logits
        best = int(np.argmax(logits))
        if self.banned is not None and cands.ids is None:
            return None if best in self.banned else best
        pos, which = _positions(cands, self.tokens)
        if pos.size == 0:
            return best
        if np.any(pos == best):
            return None
        biased = logits[pos] + self.biases[which]
        top = biased.max()
        if top < logits[best]:
            return best
        first = int(pos[biased == top].min())
        return first if top > logits[best] else min(first, best)


def bias_entries(bias) -> list[tuple[int, float]]:
    """(token id, bias) pairs of a logit_bias argument, each checked."""
    check(isinstance(bias, (Mapping, list, tuple)),
          f"logit_bias must be a dict or a list of (token, bias) pairs, got {type(bias).__name__}")
    items = list(bias.items()) if isinstance(bias, Mapping) else [_pair(x) for x in bias]
    return [(_token(t), _bias(b)) for t, b in items]


def _pair(entry) -> tuple:
    check(isinstance(entry, (tuple, list)) and len(entry) == 2,
          f"logit_bias entries must be (token, bias) pairs, got {entry!r}")
    return tuple(entry)


def _token(t) -> int:
    if isinstance(t, str) and t.isascii() and t.isdigit():
        t = int(t)
    check(is_integer(t) and 0 <= t < 2**63, f"logit_bias token must be a token id, got {t!r}")
    return int(t)


def _bias(b) -> float:
    check(isinstance(b, Real) and not isinstance(b, (bool, np.bool_)),
          f"logit_bias values must be numbers, got {b!r}")
    return float(b)


__all__ = ["LogitBias"]
