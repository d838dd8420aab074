"""History-based penalties: llama.cpp's `penalties` (repeat / frequency / presence over the last N
accepted tokens) and DRY ("don't repeat yourself", ported in llama.cpp from koboldcpp)."""

from __future__ import annotations

from collections import Counter, deque
from typing import Callable, Iterable, Sequence

import numpy as np

from .base import Candidates, Sampler, check, check_finite


def _positions(cands: Candidates, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in cands, index into tokens) of the candidates whose id is in `tokens`."""
    if cands.ids is None:
        inside = tokens < cands.size
        return tokens[inside], np.flatnonzero(inside)
    order = np.argsort(tokens)
    sorted_tokens = tokens[order]
    where = np.searchsorted(sorted_tokens, cands.ids)
    where = np.minimum(where, sorted_tokens.size - 1)
    hit = sorted_tokens[where] == cands.ids
    return np.flatnonzero(hit), order[where[hit]]


class Penalties(Sampler):
    """Over the last `last_n` accepted tokens, each seen token's logit is divided by `repeat`
    (multiplied when <= 0), then lowered by count * freq + present. last_n == 0 disables it;
    last_n == -1 means the whole history (llama.cpp's common maps -1 to the context size)."""

    name = "penalties"

    def __init__(self, last_n: int = 64, repeat: float = 1.0, freq: float = 0.0, present: float = 0.0):
        check_finite(penalty_repeat=repeat, penalty_freq=freq, penalty_present=present)
        check(last_n >= -1, f"penalty_last_n must be >= -1, got {last_n}")
        check(repeat > 0.0, f"repeat_penalty must be > 0, got {repeat}")
        self.last_n = int(last_n)
        self.repeat = float(repeat)
        self.freq = float(freq)
        self.present = float(present)
        self._prev: deque[int] = deque(maxlen=None if last_n < 0 else last_n)
        self._count: Counter[int] = Counter()

    def accept(self, token: int) -> None:
        if self.last_n == 0:
            return
        token = int(token)
        self._count[token] += 1
        if self._prev.maxlen is not None and len(self._prev) >= self._prev.maxlen:
            old = self._prev[0]
            self._count[old] -= 1
            if self._count[old] == 0:
                del self._count[old]
        self._prev.append(token)

    def reset(self) -> None:
        self._prev.clear()
        self._count.clear()

    @property
    def history(self) -> list[int]:
        return list(self._prev)

    @property
    def active(self) -> bool:
        """Whether apply() can change anything: a penalty is set and a token was seen."""
        neutral = self.repeat == 1.0 and self.freq == 0.0 and self.present == 0.0
        return self.last_n != 0 and not neutral and bool(self._count)

    def apply(self, cands: Candidates) -> None:
        if not self.active:
            return
        tokens = np.fromiter(self._count.keys(), dtype=np.intp, count=len(self._count))
        counts = np.fromiter(self._count.values(), dtype=np.float32, count=len(self._count))
        pos, which = _positions(cands, tokens)
        if pos.size == 0:
            return
        logits = cands.mutable_logits()
        f32 = np.float32
        v = logits[pos]
        v = np.where(v <= 0, v * f32(self.repeat), v / f32(self.repeat)).astype(f32)
        v -= counts[which] * f32(self.freq) + f32(self.present)
        logits[pos] = v
        cands.sorted = False


BreakerTable = dict  # head token -> list of tail token tuples (an empty tuple: a one-token breaker)


def sequence_breakers_from_tokens(breakers: Iterable[Sequence[int]]) -> BreakerTable:
    """Breakers given as token sequences (head first), like llama.cpp's dry_testing wrapper."""
    table: BreakerTable = {}
    for seq in breakers:
        seq = [int(t) for t in seq]
        if not seq:
            continue
        tails = table.setdefault(seq[0], [])
        if tuple(seq[1:]) not in tails:
            tails.append(tuple(seq[1:]))
    return table


def sequence_breakers_from_strings(breakers: Iterable[str], n_vocab: int,
                                   token_text: Callable[[int], str],
                                   tokenize: Callable[[str], list[int]],
                                   max_chars: int = 40, max_tail: int = 20) -> BreakerTable:
    """llama.cpp's get_overlapping_token_sequences: for each string s, every token whose text
    contains s is a one-token breaker; a token whose text ends with a prefix of s becomes a head
    whose tail is the tokenization of the rest of s (clamped to max_tail tokens).
    `token_text(id)` renders one token (special tokens included); `tokenize(text)` adds no BOS."""
    table: BreakerTable = {}
    for s in breakers:
        if not s:
            continue
        s = s[:max_chars]
        for tok in range(n_vocab):
            word = token_text(tok)
            if s in word:
                table.setdefault(tok, [])
                if () not in table[tok]:
                    table[tok].append(())
                continue
            pos = word.find(s[0])
            while pos != -1:
                # does s start at pos and run past the end of word?
                n = min(len(s), len(word) - pos)
                if word[pos:pos + n] == s[:n]:
                    tail = tuple(tokenize(s[n:])[:max_tail])
                    tails = table.setdefault(tok, [])
                    if tail not in tails:
                        tails.append(tail)
                pos = word.find(s[0], pos + 1)
    return table


class DRY(Sampler):
    """DRY: a token that would extend a repetition of length L >= allowed_length (a suffix of the
    history that also occurred earlier, followed by that token) gets its logit lowered by
    multiplier * base ** (L - allowed_length). Repetitions never reach across a sequence breaker.
    Disabled when multiplier == 0, base < 1 or penalty_last_n == 0; penalty_last_n == -1 means
    the model's training context (`n_ctx_train`)."""

    name = "dry"

    def __init__(self, multiplier: float = 0.0, base: float = 1.75, allowed_length: int = 2,
                 penalty_last_n: int = -1, seq_breakers: BreakerTable | None = None,
                 n_ctx_train: int = 4096):
        check_finite(dry_multiplier=multiplier, dry_base=base)
        check(multiplier >= 0.0, f"dry_multiplier must be >= 0, got {multiplier}")
        check(allowed_length >= 0, f"dry_allowed_length must be >= 0, got {allowed_length}")
        check(penalty_last_n >= -1, f"dry_penalty_last_n must be >= -1, got {penalty_last_n}")
        check(n_ctx_train > 0, f"n_ctx_train must be > 0, got {n_ctx_train}")
        self.multiplier = float(multiplier)
        self.base = float(base)
        self.allowed_length = int(allowed_length)
        self.penalty_last_n = int(penalty_last_n)
        self.n_ctx_train = int(n_ctx_train)
        self.seq_breakers: BreakerTable = dict(seq_breakers or {})
        effective = n_ctx_train if penalty_last_n == -1 else max(penalty_last_n, 0)
        self._last: deque[int] = deque(maxlen=effective if self.enabled else 0)

    @property
    def enabled(self) -> bool:
        return self.multiplier != 0.0 and self.base >= 1.0 and self.penalty_last_n != 0

    @property
    def active(self) -> bool:
        """Whether apply() may change anything (it also needs a repetition in the history)."""
        return self.enabled

    def accept(self, token: int) -> None:
        if self.enabled:
            self._last.append(int(token))

    def reset(self) -> None:
        self._last.clear()

    def _rep_limit(self, rev: list[int], n: int) -> int:
        """Distance back to the nearest sequence breaker: repetitions may not cross it."""
        for i in range(n):
            tails = self.seq_breakers.get(rev[i])
            if not tails:
                continue
            longest = -1
            for tail in tails:
                m = len(tail)
                if longest < m <= i and all(tail[j] == rev[i - j - 1] for j in range(m)):
                    longest = m
            if longest >= 0:
                return i - longest
        return n

    @staticmethod
    def _repeat_counts(rev: list[int], n: int, rep_limit: int) -> list[int]:
        """counts[n-1-k] = length (capped) of the longest common prefix of rev and rev[k:]:
        how long the suffix of the history that ends k tokens back also ends the history.
        Reverse Z-algorithm, linear in n."""
        counts = [0] * n
        last = n - 1
        lt = rt = 0
        for k in range(1, n):
            if k > rt:
                m = 0
                while m + k < n and rev[m] == rev[m + k]:
                    m += 1
                counts[last - k] = min(m, rep_limit)
                if m > 0:
                    lt, rt = k, k + m - 1
            else:
                p = k - lt
                right = rt - k + 1
                if counts[last - p] < right:
                    counts[last - k] = min(counts[last - p], rep_limit)
                else:
                    i = rt + 1
                    while i < n and rev[i] == rev[i - k]:
                        i += 1
                    counts[last - k] = min(i - k, rep_limit)
                    lt, rt = k, i - 1
        return counts

    def penalty_table(self) -> dict[int, int]:
        """token -> the longest repetition it would extend (only those >= allowed_length)."""
        if not self.enabled:
            return {}
        n = min(len(self._last), self._last.maxlen or 0, self.n_ctx_train)
        if n <= self.allowed_length:
            return {}
        rev = list(self._last)[::-1][:n]  # rev[i] is the token i steps from the end
        rep_limit = self._rep_limit(rev, n)
        if rep_limit < self.allowed_length:
            return {}
        counts = self._repeat_counts(rev, n, rep_limit)
        worst: dict[int, int] = {}
        for i in range(n - 1):
            length = counts[i]
            if length >= self.allowed_length:
                tok = rev[n - 2 - i]  # the token that followed that earlier occurrence
                if worst.get(tok, -1) < length:
                    worst[tok] = length
        return worst

    def apply(self, cands: Candidates) -> None:
        worst = self.penalty_table()
        if not worst:
            return
        worst = {t: m for t, m in worst.items() if () not in self.seq_breakers.get(t, [])}
        if not worst:
            return
        max_exp = int(np.float32(88.7228391) / np.log(np.float32(self.base))) if self.base > 1.000001 else 0
        tokens = np.fromiter(worst.keys(), dtype=np.intp, count=len(worst))
        exps = np.array([m - self.allowed_length for m in worst.values()], dtype=np.int64)
        if max_exp > 0:
            exps = np.minimum(exps, max_exp)
        penalty = (float(np.float32(self.multiplier)) * np.power(float(np.float32(self.base)), exps)).astype(np.float32)
        pos, which = _positions(cands, tokens)
        if pos.size == 0:
            return
        logits = cands.mutable_logits()
        logits[pos] -= penalty[which]
        cands.sorted = False


__all__ = ["Penalties", "DRY", "sequence_breakers_from_tokens", "sequence_breakers_from_strings"]
