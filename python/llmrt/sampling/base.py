"""The candidate set every sampler transforms, the sampler interface, and the shared kernels.

Mirrors llama.cpp's `llama_token_data_array`: ids, logits, probabilities and a "sorted" flag, but as
NumPy arrays (structure of arrays). The full vocabulary starts out as a read-only view of the
caller's logits with `ids is None` meaning "ids[i] == i"; the first cut (top-k, min-p, ...) turns it
into a small owned set, so later samplers never touch the whole vocabulary again.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import SamplingError

# Below this size a plain argpartition is as fast as the blocked search in top_k_indices.
_SMALL = 16384
# Rows of the (rows, n // rows) view used by top_k_indices; each column is one "block".
_ROWS = 32


class Candidates:
    """A set of candidate tokens. Arrays are parallel and of length `size`.

    ids:      (n,) intp token ids, or None for the untouched full vocabulary (ids[i] == i)
    logits:   (n,) float32
    probs:    (n,) float32 softmax of `logits`, or None when not computed or stale
    sorted:   True when logits are in descending order
    selected: index into the arrays of the chosen token, -1 until a selecting sampler ran
    """

    __slots__ = ("ids", "logits", "probs", "sorted", "selected", "_owned")

    def __init__(self, logits: np.ndarray, ids: np.ndarray | None = None, *, owned: bool = False,
                 is_sorted: bool = False):
        self.logits = logits
        self.ids = ids
        self.probs = None
        self.sorted = is_sorted
        self.selected = -1
        self._owned = owned

    @classmethod
    def from_logits(cls, logits: np.ndarray, allowed_mask: np.ndarray | None = None) -> "Candidates":
        """The full vocabulary, or only the tokens where `allowed_mask` is True (grammar hook).

        Disallowed tokens are dropped rather than set to -inf, so later samplers see a small set.
        """
        logits = np.asarray(logits)
        if logits.ndim != 1 or logits.shape[0] == 0:
            raise SamplingError(f"logits must be a non-empty 1-D array, got shape {logits.shape}")
        if logits.dtype != np.float32:
            logits = logits.astype(np.float32)
        if allowed_mask is None:
            return cls(logits)
        allowed_mask = np.asarray(allowed_mask, dtype=bool)
        if allowed_mask.shape != logits.shape:
            raise SamplingError(f"allowed_mask shape {allowed_mask.shape} != logits {logits.shape}")
        ids = np.flatnonzero(allowed_mask)
        if ids.size == 0:
            raise SamplingError("allowed_mask allows no token")
        return cls(logits[ids], ids, owned=True)

    @property
    def size(self) -> int:
        return self.logits.shape[0]

    def token_ids(self) -> np.ndarray:
        """(n,) intp ids, materialised for the full vocabulary."""
        if self.ids is None:
            return np.arange(self.size, dtype=np.intp)
        return self.ids

    def token(self, index: int) -> int:
        return int(index) if self.ids is None else int(self.ids[index])

    def mutable_logits(self) -> np.ndarray:
        """Logits safe to write in place (copies the caller's array once); marks probs stale."""
        if not self._owned:
            self.logits = self.logits.copy()
            self._owned = True
        self.probs = None
        return self.logits

    def set_logits(self, logits: np.ndarray) -> None:
        self.logits = logits
        self._owned = True
        self.probs = None

    def keep(self, index, is_sorted: bool) -> None:
        """Keep the candidates at positions `index` (an int array or a slice), in that order."""
        if isinstance(index, slice):
            self.ids = np.arange(self.size, dtype=np.intp)[index] if self.ids is None else self.ids[index]
        else:
            self.ids = index if self.ids is None else self.ids[index]
            self._owned = True
        if self.probs is not None:
            self.probs = self.probs[index]
        self.logits = self.logits[index]
        self.sorted = is_sorted

    def truncate(self, n: int) -> None:
        """Keep the first n candidates (probabilities left as they are, as llama.cpp does)."""
        if n < self.size:
            self.keep(slice(0, n), self.sorted)

    def sort(self) -> None:
        """Full descending sort by logit (stable, so ties keep their order)."""
        if not self.sorted:
            self.keep(np.argsort(-self.logits, kind="stable"), True)

    def partial_sort(self, k: int) -> None:
        """Keep the k highest logits, sorted descending (llama.cpp's partial_sort_inplace)."""
        if self.sorted:
            self.truncate(k)
        else:
            self.keep(top_k_indices(self.logits, k), True)

    def softmax(self) -> np.ndarray:
        """Probabilities of the current set (cached until logits or membership change)."""
        if self.probs is None:
            self.probs = softmax(self.logits)
        return self.probs

    def copy(self) -> "Candidates":
        c = Candidates(self.logits.copy(), None if self.ids is None else self.ids.copy(),
                       owned=True, is_sorted=self.sorted)
        c.probs = None if self.probs is None else self.probs.copy()
        c.selected = self.selected
        return c


def softmax(logits: np.ndarray) -> np.ndarray:
    """float32 softmax as llama.cpp computes it: expf(l - max), divided by the sum."""
    mx = logits.max()
    if not np.isfinite(mx):  # all -inf (everything banned) or NaN: no distribution
        return np.full(logits.shape, np.nan, dtype=np.float32)
    e = np.exp(logits - mx, dtype=np.float32)
    return e / np.float32(e.sum(dtype=np.float64))


def top_k_indices(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values of x, sorted descending (ties by index). No full sort.

    For a big vocabulary: view x as (rows, cols) and take each column's max (a fast elementwise
    reduction). The k-th largest column max t is a lower bound of the k-th largest value, since k
    distinct elements reach it, so every top-k element is >= t and lives in a column whose max is
    >= t. Only those few columns are searched.
    """
    n = x.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    if n <= _SMALL or k * 64 > n:
        pool = None
    else:
        cols = n // _ROWS
        grid = x[:cols * _ROWS].reshape(_ROWS, cols)
        col_max = grid.max(axis=0)
        t = np.partition(col_max, cols - k)[cols - k]
        best = np.flatnonzero(col_max >= t)  # k columns, more when maxima tie at t
        r, c = np.nonzero(grid[:, best] >= t)
        pool = r * cols + best[c]
        if cols * _ROWS < n:
            tail = np.arange(cols * _ROWS, n, dtype=np.intp)
            pool = np.concatenate([pool, tail[x[tail] >= t]])
        pool = np.sort(pool)  # ascending ids, so ties at the k-th place go to the lowest ids
    return _top_k_of(x, k, pool)


def _top_k_of(x: np.ndarray, k: int, pool: np.ndarray | None) -> np.ndarray:
    """Top k of x over `pool` (indices, or None for all): descending value, ascending index
    among ties, including ties that straddle the k-th place."""
    v = x if pool is None else x[pool]
    if k < v.shape[0]:
        kth = np.partition(v, v.shape[0] - k)[v.shape[0] - k]
        above = np.flatnonzero(v > kth)
        level = np.flatnonzero(v == kth)[: k - above.size]
        sel = np.concatenate([above, level])
    else:
        sel = np.arange(v.shape[0], dtype=np.intp)
    idx = sel if pool is None else pool[sel]
    idx = np.sort(idx)
    return idx[np.argsort(-x[idx], kind="stable")]


def draw(weights: np.ndarray, rng: np.random.Generator) -> int:
    """Index drawn from (unnormalised) weights with one uniform double, as llama.cpp's dist does:
    the first i whose running sum reaches sum * u."""
    cum = np.cumsum(weights, dtype=np.float64)
    target = cum[-1] * rng.random()
    i = int(np.searchsorted(cum, target, side="left"))
    return min(i, cum.shape[0] - 1)


def make_rng(seed: int, stream: int = 0) -> np.random.Generator:
    """Stream 0 is PCG64(seed); other samplers of the same chain get independent streams."""
    if stream == 0:
        return np.random.Generator(np.random.PCG64(seed))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream,))))


class Sampler:
    """One step of a chain. `apply` transforms the candidate set in place; a selecting sampler
    (greedy, dist, mirostat) sets `cands.selected`. `accept` sees every token the chain emits."""

    name = "sampler"
    # True for samplers that only drop candidates and always keep the most likely one (top-k,
    # top-p, min-p, typical, top-n-sigma): a temperature-0 chain may skip them (SamplerChain).
    keeps_max = False

    def apply(self, cands: Candidates) -> None:
        raise NotImplementedError

    def accept(self, token: int) -> None:
        pass

    def reset(self) -> None:
        pass

    def clone(self) -> "Sampler":
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and not isinstance(v, np.random.Generator))
        return f"{type(self).__name__}({fields})"


def check(cond: bool, message: str) -> None:
    if not cond:
        raise SamplingError(message)


def check_finite(**values) -> None:
    for name, v in values.items():
        try:
            ok = v is not None and bool(np.isfinite(v))
        except TypeError:
            ok = False
        if not ok:
            raise SamplingError(f"{name} must be a finite number, got {v!r}")
