"""Draft sources for speculative decoding: cheap guesses of a request's next tokens that the
model then checks in one batched decode (engine.py), keeping the longest prefix it agrees with.

Sampling stays exact because every draft here is deterministic (a point mass): the request samples
each verified position from the model's own distribution, exactly as without a draft, and a draft
token counts as accepted only when the sample equals it. A point-mass draft is accepted with
probability p(token) and the sample that replaces a rejected one follows p without that token:
the rejection-sampling rule of speculative decoding, with the draft's q = 1 on its token. Each
emitted token consumes one draw of the request's seeded generator, as without speculation.
"""

from __future__ import annotations

import numpy as np


class PromptLookup:
    """Prompt-lookup decoding: find the latest earlier occurrence of the sequence's last n tokens
    (n from ngram_max down to ngram_min) in the prompt and the output so far, and propose the
    tokens that followed it. Pays off where the output copies its input (summaries, edits of a
    given text, code changes, extraction)."""

    name = "lookup"

    def __init__(self, n_draft: int = 8, ngram_max: int = 4, ngram_min: int = 1):
        if n_draft < 1 or not 1 <= ngram_min <= ngram_max:
            raise ValueError("n_draft >= 1 and 1 <= ngram_min <= ngram_max")
        self.n_draft = n_draft
        self.ngram_max = ngram_max
        self.ngram_min = ngram_min

    def propose(self, tokens, limit: int) -> list[int]:
        """Up to min(limit, n_draft) tokens to follow `tokens` (the whole sequence so far)."""
        k = min(limit, self.n_draft)
        if k <= 0 or len(tokens) < self.ngram_min + 1:
            return []
        seq = np.asarray(tokens, dtype=np.int64)
        last = seq[-1]
        # earlier positions whose token equals the last one (candidates for the n-gram's end)
        ends = np.flatnonzero(seq[:-1] == last)
        if ends.size == 0:
            return []
        for n in range(min(self.ngram_max, len(seq) - 1), self.ngram_min - 1, -1):
            gram = seq[-n:]
            good = ends[ends >= n - 1]
            for j in range(1, n):  # the n-gram ends at e: seq[e-n+1 .. e] == gram
                good = good[seq[good - j] == gram[-1 - j]]
            if good.size:
                start = int(good[-1]) + 1     # the latest match: most like what comes next
                return seq[start:start + k].tolist()
        return []


def make_drafter(draft, n_draft: int):
    """LLM(draft=...): None, "lookup", or an object with propose(tokens, limit)."""
    if draft is None:
        return None
    if draft == "lookup":
        return PromptLookup(n_draft)
    if hasattr(draft, "propose"):
        return draft
    raise ValueError(f"draft must be None, 'lookup' or a drafter, not {draft!r}")
