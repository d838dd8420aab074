"""Stateless cuts and transforms (top-k, top-p, min-p, typical, top-n-sigma, temperature) and the
selecting samplers greedy and dist; XTC, which draws from its own generator.

Each follows the llama.cpp sampler of the same name (src/llama-sampling.cpp): the same parameter
meaning, the same no-op conditions, the same min_keep rule, float32 arithmetic where it decides a
boundary. Ties are broken by token position (stable), which llama.cpp leaves unspecified.
"""

from __future__ import annotations

import os

import numpy as np

from .base import Candidates, Sampler, check, check_finite, draw, make_rng, softmax, top_k_indices

_DEFAULT_SEED = 0xFFFFFFFF  # llama.cpp's LLAMA_DEFAULT_SEED: "pick a random seed"


def resolve_seed(seed: int | None) -> int:
    """A concrete seed: `seed` itself, or a fresh random one for None / -1 / 0xFFFFFFFF."""
    if seed is None or seed == -1 or seed == _DEFAULT_SEED:
        return int.from_bytes(os.urandom(4), "little")
    check(isinstance(seed, (int, np.integer)) and seed >= 0, f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _first_true(mask: np.ndarray) -> int:
    """Index of the first True, or -1."""
    i = int(np.argmax(mask)) if mask.size else 0
    return i if mask.size and mask[i] else -1


class Greedy(Sampler):
    """Selects the highest logit (the first one among equals)."""

    name = "greedy"

    def apply(self, cands: Candidates) -> None:
        cands.selected = int(np.argmax(cands.logits))


class _Seeded(Sampler):
    """A sampler owning a generator. `seed` as asked (None = random), `seed_cur` as used."""

    _stream = 0

    def __init__(self, seed: int | None):
        self.seed = seed
        self.seed_cur = resolve_seed(seed)
        self._rng = make_rng(self.seed_cur, self._stream)

    def reset(self) -> None:
        # as llama.cpp: a fixed seed restarts the same sequence, a random one draws a new seed
        self.seed_cur = resolve_seed(self.seed)
        self._rng = make_rng(self.seed_cur, self._stream)


class Dist(_Seeded):
    """Seeded categorical draw from softmax(logits); leaves normalised probs in the set."""

    name = "dist"

    def apply(self, cands: Candidates) -> None:
        n = cands.size
        check(n > 0, "no candidates left to sample from")
        if n == 1:
            cands.selected = 0
            cands.probs = np.ones(1, dtype=np.float32)
            return
        mx = cands.logits.max()
        check(bool(np.isfinite(mx)), f"cannot sample: the largest remaining logit is {mx}")
        e = np.exp(cands.logits - mx, dtype=np.float32)
        cands.selected = draw(e, self._rng)
        cands.probs = (e / e.sum(dtype=np.float64)).astype(np.float32)


def scale_logits(cands: Candidates, temp: float) -> None:
    """llama.cpp's temp_impl: divide by temp, or for temp <= 0 keep only the (first) max logit
    and set every other logit to -inf."""
    logits = cands.logits
    if temp <= 0.0:
        i = int(np.argmax(logits))
        out = np.full_like(logits, -np.inf)
        out[i] = logits[i]
        cands.set_logits(out)
    else:
        cands.set_logits(logits / np.float32(temp))


class Temperature(Sampler):
    """Temperature, with llama.cpp's dynamic temperature (temp_ext) when dynatemp_range > 0:
    T = min_t + (max_t - min_t) * (H / log n) ** exponent over [temp - range, temp + range]."""

    name = "temp-ext"

    def __init__(self, temp: float, dynatemp_range: float = 0.0, dynatemp_exponent: float = 1.0):
        check_finite(temp=temp, dynatemp_range=dynatemp_range, dynatemp_exponent=dynatemp_exponent)
        self.temp = float(temp)
        self.dynatemp_range = float(dynatemp_range)
        self.dynatemp_exponent = float(dynatemp_exponent)

    def apply(self, cands: Candidates) -> None:
        if self.dynatemp_range <= 0:
            scale_logits(cands, self.temp)
            return
        if cands.size <= 1:
            return
        f32 = np.float32
        min_temp = max(f32(0), f32(self.temp) - f32(self.dynatemp_range))
        max_temp = f32(self.temp) + f32(self.dynatemp_range)
        max_entropy = -np.log(f32(1) / f32(cands.size))
        cands.sort()
        p = cands.softmax()
        nz = p[p > 0]
        entropy = -np.sum(nz * np.log(nz), dtype=f32)
        normalized = f32(entropy / max_entropy)
        dyn_temp = f32(min_temp + (max_temp - min_temp) * np.power(normalized, f32(self.dynatemp_exponent)))
        scale_logits(cands, float(dyn_temp))
        # llama.cpp recomputes the probabilities in double after scaling
        lg = cands.logits.astype(np.float64)
        e = np.exp(lg - lg[0])
        cands.probs = (e / e.sum()).astype(np.float32)


class TopK(Sampler):
    """Keep the k highest logits, sorted. k <= 0 disables it (0 and -1 are accepted)."""

    name = "top-k"
    keeps_max = True

    def __init__(self, k: int):
        check(isinstance(k, (int, np.integer)) and k >= -1, f"top_k must be an int >= -1 (<= 0 disables), got {k!r}")
        self.k = int(k)

    def apply(self, cands: Candidates) -> None:
        if self.k <= 0:
            return
        cands.partial_sort(min(self.k, cands.size))


class TopP(Sampler):
    """Nucleus: the smallest sorted prefix whose float32 running sum of probabilities reaches p,
    and at least min_keep tokens. p >= 1 disables it."""

    name = "top-p"
    keeps_max = True

    def __init__(self, p: float, min_keep: int = 0):
        check_finite(top_p=p)
        check(0.0 <= p <= 1.0, f"top_p must be in [0, 1], got {p}")
        check(min_keep >= 0, f"min_keep must be >= 0, got {min_keep}")
        self.p = float(p)
        self.min_keep = int(min_keep)

    def _cut(self, probs: np.ndarray) -> int:
        """Length of the kept prefix of sorted probs, or -1 when the sum never reaches p."""
        cum = np.cumsum(probs, dtype=np.float32)
        enough = np.arange(1, probs.size + 1) >= self.min_keep
        i = _first_true((cum >= np.float32(self.p)) & enough)
        return i + 1 if i >= 0 else -1

    def apply(self, cands: Candidates) -> None:
        if self.p >= 1.0:
            return
        probs = cands.softmax()
        if not cands.sorted and cands.size > 1024:
            # llama.cpp's adaptive path: try the 256 most likely before sorting everything
            top = top_k_indices(cands.logits, 256)
            n = self._cut(probs[top])
            if n > 0:
                cands.keep(top[:n], True)
                return
        cands.sort()
        n = self._cut(cands.probs)
        cands.truncate(n if n > 0 else cands.size)


class MinP(Sampler):
    """Keep tokens with p >= p_min * p_max, i.e. logit >= max_logit + log(p_min), at least min_keep."""

    name = "min-p"
    keeps_max = True

    def __init__(self, p: float, min_keep: int = 0):
        check_finite(min_p=p)
        check(0.0 <= p <= 1.0, f"min_p must be in [0, 1], got {p}")
        check(min_keep >= 0, f"min_keep must be >= 0, got {min_keep}")
        self.p = float(p)
        self.min_keep = int(min_keep)

    def apply(self, cands: Candidates) -> None:
        if self.p <= 0.0 or cands.size == 0:
            return
        log_p = np.log(np.float32(self.p))
        if not cands.sorted:
            min_logit = np.float32(cands.logits.max() + log_p)
            kept = np.flatnonzero(cands.logits >= min_logit)
            if kept.size > 0 and kept.size >= self.min_keep:
                cands.keep(kept, False)
                return
        cands.sort()
        logits = cands.logits
        min_logit = np.float32(logits[0] + log_p)
        # the first token always stays; stop at the first one below the bound once min_keep is met
        pos = np.arange(1, logits.size)
        i = _first_true((logits[1:] < min_logit) & (pos >= self.min_keep))
        cands.truncate(i + 1 if i >= 0 else logits.size)


class Typical(Sampler):
    """Locally typical sampling: order by |-log p - H|, keep the prefix whose running sum
    exceeds p (and at least min_keep). p >= 1 disables it. The result is not sorted by logit."""

    name = "typical"

    def __init__(self, p: float, min_keep: int = 0):
        check_finite(typical_p=p)
        check(0.0 <= p <= 1.0, f"typical_p must be in [0, 1], got {p}")
        check(min_keep >= 0, f"min_keep must be >= 0, got {min_keep}")
        self.p = float(p)
        self.min_keep = int(min_keep)

    @property
    def keeps_max(self) -> bool:
        return self.p >= 1.0  # when active it may drop the most likely token

    def apply(self, cands: Candidates) -> None:
        if self.p >= 1.0:
            return
        cands.sort()
        p = cands.softmax()
        with np.errstate(divide="ignore", invalid="ignore"):
            neg_log_p = -np.log(p)
            # 0 * log 0 counts as 0 (llama.cpp would produce NaN for a -inf logit here)
            entropy = np.sum(np.where(p > 0, p * neg_log_p, 0), dtype=np.float32)
        shifted = np.abs(neg_log_p - entropy)
        order = np.argsort(shifted, kind="stable")
        cum = np.cumsum(p[order], dtype=np.float32)
        enough = np.arange(order.size) >= self.min_keep - 1 if self.min_keep > 0 else True
        i = _first_true((cum > np.float32(self.p)) & enough)
        cands.keep(order[: i + 1] if i >= 0 else order, False)


class TopNSigma(Sampler):
    """Keep logits within n standard deviations of the max (over finite logits); the rest
    become -inf, as in llama.cpp, and the set ends sorted with its probabilities. n <= 0 disables."""

    name = "top-n-sigma"
    keeps_max = True

    def __init__(self, n: float):
        check_finite(top_n_sigma=n)
        self.n = float(n)

    def apply(self, cands: Candidates) -> None:
        if self.n <= 0.0 or cands.size <= 1:
            return
        logits = cands.logits
        finite = logits != -np.inf
        valid = logits[finite]
        if valid.size:
            mx = valid.max()
            mean = np.float32(valid.sum(dtype=np.float64) / valid.size)
            std = np.float32(np.sqrt(np.sum((valid.astype(np.float64) - mean) ** 2) / valid.size))
        else:
            mx, std = logits[0], np.float32(0)
        bound = np.float32(mx - np.float32(self.n) * std)
        survivors = np.flatnonzero(logits >= bound)
        survivors = survivors[np.argsort(-logits[survivors], kind="stable")]
        rest = np.flatnonzero(~(logits >= bound))
        cands.keep(np.concatenate([survivors, rest]), True)
        if rest.size:
            out = cands.mutable_logits()
            out[survivors.size:] = -np.inf
        cands.softmax()


class XTC(_Seeded):
    """Exclude Top Choices: with chance `probability`, drop every token with p >= threshold except
    the least likely of them, provided min_keep tokens remain. Draws one float32 per call from
    its own generator (when enabled and at least 2 candidates), like llama.cpp."""

    name = "xtc"
    _stream = 1

    def __init__(self, probability: float, threshold: float, min_keep: int = 0, seed: int | None = None):
        check_finite(xtc_probability=probability, xtc_threshold=threshold)
        check(0.0 <= probability <= 1.0, f"xtc_probability must be in [0, 1], got {probability}")
        check(0.0 <= threshold <= 1.0, f"xtc_threshold must be in [0, 1], got {threshold}")
        check(min_keep >= 0, f"min_keep must be >= 0, got {min_keep}")
        self.probability = float(probability)
        self.threshold = float(threshold)
        self.min_keep = int(min_keep)
        super().__init__(seed)

    @property
    def active(self) -> bool:
        return self.probability > 0.0 and self.threshold <= 0.5

    def apply(self, cands: Candidates) -> None:
        if not self.active or cands.size < 2:
            return
        chance = self._rng.random(dtype=np.float32)
        if chance > np.float32(self.probability):
            return
        cands.sort()
        p = cands.softmax()
        below = _first_true(p < np.float32(self.threshold))
        run = p.size if below < 0 else below  # leading tokens with p >= threshold
        pos_last = max(run - 1, 0)
        if cands.size - pos_last >= self.min_keep and pos_last > 0:
            cands.keep(slice(pos_last, None), True)


__all__ = ["Greedy", "Dist", "Temperature", "TopK", "TopP", "MinP", "Typical", "TopNSigma", "XTC",
           "resolve_seed", "scale_logits", "softmax"]
