"""Logit bias: add a fixed bias to chosen tokens (-inf bans a token; `ignore_eos` is built on it)."""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from .base import Candidates, Sampler, check
from .penalties import _positions


class LogitBias(Sampler):
    """bias: {token: bias} or [(token, bias), ...]; repeated tokens add up (llama.cpp's fast path).
    Biases may be +-inf; NaN is refused. Tokens outside [0, n_vocab) are an error."""

    name = "logit-bias"

    def __init__(self, n_vocab: int, bias: Mapping[int, float] | Iterable[tuple[int, float]] = ()):
        items = list(bias.items()) if isinstance(bias, Mapping) else [tuple(x) for x in bias]
        self.n_vocab = int(n_vocab)
        tokens = np.array([int(t) for t, _ in items], dtype=np.intp)
        biases = np.array([float(b) for _, b in items], dtype=np.float32)
        # one entry per token, so the lookup by sorted id below sees every bias
        self.tokens, where = np.unique(tokens, return_inverse=True)
        self.biases = np.zeros(self.tokens.size, dtype=np.float32)
        np.add.at(self.biases, where, biases)
        check(not np.isnan(self.biases).any(), "logit_bias values must not be NaN")
        bad = self.tokens[(self.tokens < 0) | (self.tokens >= n_vocab)]
        check(bad.size == 0, f"logit_bias token ids out of range [0, {n_vocab}): {bad[:5].tolist()}")

    def apply(self, cands: Candidates) -> None:
        if self.tokens.size == 0:
            return
        pos, which = _positions(cands, self.tokens)
        if pos.size == 0:
            return
        logits = cands.mutable_logits()
        logits[pos] += self.biases[which]
        cands.sorted = False


__all__ = ["LogitBias"]
