"""Mirostat v1 and v2 (Basu et al. 2020): selecting samplers that steer the observed surprise
-log2 p of the drawn tokens towards tau, adapting mu by eta after each draw. As in llama.cpp,
mu starts at 2 * tau and is updated inside apply (the draw), not in accept."""

from __future__ import annotations

import math

import numpy as np

from .base import Candidates, check, check_finite, draw, softmax, top_k_indices
from .basic import _Seeded


def _check(tau: float, eta: float) -> None:
    check_finite(mirostat_tau=tau, mirostat_eta=eta)
    check(tau >= 0.0, f"mirostat_tau must be >= 0, got {tau}")
    check(eta >= 0.0, f"mirostat_eta must be >= 0, got {eta}")


class _MirostatBase(_Seeded):
    """What both versions share: tau, eta and the running mu (2 * tau at start and on reset)."""

    def __init__(self, seed: int | None, tau: float, eta: float):
        _check(tau, eta)
        self.tau = float(tau)
        self.eta = float(eta)
        self.mu = 2.0 * self.tau
        super().__init__(seed)

    def reset(self) -> None:
        self.mu = 2.0 * self.tau
        super().reset()

    def _draw_and_learn(self, cands: Candidates) -> None:
        """Draw from what is left, and move mu toward the target surprise tau."""
        p = softmax(cands.logits)
        cands.probs = p
        idx = draw(p, self._rng)
        cands.selected = idx
        surprise = -math.log2(float(p[idx])) if p[idx] > 0 else math.inf
        self.mu = float(np.float32(self.mu - self.eta * (surprise - self.tau)))


class Mirostat(_MirostatBase):
    """v1: estimate the Zipf exponent s from the m most likely tokens, derive the top-k that
    gives surprise mu, draw from it."""

    name = "mirostat"

    def __init__(self, n_vocab: int, seed: int | None, tau: float = 5.0, eta: float = 0.1, m: int = 100):
        check(m >= 1, f"mirostat m must be >= 1, got {m}")
        check(n_vocab >= 1, f"n_vocab must be >= 1, got {n_vocab}")
        self.n_vocab = int(n_vocab)
        self.m = int(m)
        super().__init__(seed, tau, eta)

    def _k(self, top_p: np.ndarray) -> int:
        f32 = np.float32
        n = min(self.m - 1, top_p.size - 1)
        i = np.arange(n, dtype=f32)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.log((i + 2) / (i + 1)).astype(f32)
            b = np.log(top_p[:n] / top_p[1:n + 1]).astype(f32)
            s_hat = f32(np.sum(t * b, dtype=f32) / np.sum(t * t, dtype=f32))
            eps = s_hat - f32(1)
            k = np.power(f32(eps * np.power(f32(2), f32(self.mu))) /
                         (f32(1) - np.power(f32(self.n_vocab), -eps)), f32(1) / s_hat)
        if not np.isfinite(k):
            return top_p.size if (np.isnan(k) or k > 0) else 1
        return max(int(min(k, 2**31 - 1)), 1)

    def apply(self, cands: Candidates) -> None:
        check(cands.size > 0, "no candidates left to sample from")
        probs = cands.softmax()
        head = top_k_indices(cands.logits, self.m) if not cands.sorted else np.arange(min(self.m, cands.size))
        k = min(self._k(probs[head]), cands.size)
        cands.partial_sort(k)
        self._draw_and_learn(cands)


class MirostatV2(_MirostatBase):
    """v2: drop tokens whose surprise -log2 p exceeds mu (keeping at least one), draw."""

    name = "mirostat-v2"

    def __init__(self, seed: int | None, tau: float = 5.0, eta: float = 0.1):
        super().__init__(seed, tau, eta)

    def apply(self, cands: Candidates) -> None:
        check(cands.size > 0, "no candidates left to sample from")
        p = cands.softmax()
        with np.errstate(divide="ignore"):
            # -log2 p is monotone in p, so llama.cpp's sorted prefix is exactly this set
            kept = np.flatnonzero(~(-np.log2(p) > np.float32(self.mu)))
        if kept.size == 0:
            kept = top_k_indices(cands.logits, 1)
        else:
            kept = kept[np.argsort(-cands.logits[kept], kind="stable")]
        cands.keep(kept, True)
        self._draw_and_learn(cands)


__all__ = ["Mirostat", "MirostatV2"]
