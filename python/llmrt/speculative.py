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

    def propose_many(self, asks: list) -> list[list[int]]:
        return [self.propose(tokens, limit) for tokens, limit in asks]


class DraftModel:
    """A smaller model with the same vocabulary guesses greedily. Every speculating request gets
    a draft request in the draft model's own engine each step, all of them decoded together;
    the draft engine's prefix cache keeps each request's context, so a step prefills only the
    tokens since the last one (the accepted draft and the correction) before drafting."""

    name = "draft"

    def __init__(self, llm, n_draft: int = 8):
        from .sampling import SamplingParams

        if n_draft < 1:
            raise ValueError("n_draft must be >= 1")
        self.llm = llm
        self.n_draft = n_draft
        # greedy, nothing else: a point-mass draft keeps the target's sampling exact
        self.params = SamplingParams(temp=0.0, top_k=0, top_p=1.0, min_p=0.0, penalty_last_n=0)

    def propose_many(self, asks: list) -> list[list[int]]:
        from .errors import LLMRTError

        reqs = [self.llm.new_request(list(tokens), min(limit, self.n_draft), (), self.params)
                for tokens, limit in asks]
        try:
            self.llm.engine.run(reqs)
        except LLMRTError:
            return [[] for _ in asks]   # no draft this step (the draft cache is full, say)
        return [r.generated for r in reqs]


# A request whose drafts are mostly rejected stops paying for them: after WARMUP_DRAFT_TOKENS
# checked, below MIN_ACCEPTANCE and with its last draft rejected outright, it speculates only
# every PROBE_EVERY tokens; one accepted draft token turns it back on (as when the output reaches
# text the prompt holds).
WARMUP_DRAFT_TOKENS = 16
MIN_ACCEPTANCE = 0.1
PROBE_EVERY = 8


def worth_drafting(req) -> bool:
    checked, accepted = req.stats.draft_tokens, req.stats.draft_accepted
    if checked < WARMUP_DRAFT_TOKENS or accepted >= MIN_ACCEPTANCE * checked or req.last_draft_accepted:
        return True
    return len(req.generated) % PROBE_EVERY == 0


def propose_drafts(requests, budget: int, n_ctx: int) -> dict:
    """{id(request): tokens to check after its next one} for the decoding requests that
    speculate, within a step's token budget, the context, and the tokens each request may still
    generate. Each drafter proposes for all its requests at once (a draft model batches them)."""
    asks: dict = {}
    for req in requests:
        if req.drafter is None or len(req.pending) != 1 or req.prefilling or req.seq is None:
            continue
        if not worth_drafting(req):
            continue
        limit = min(budget, n_ctx - len(req.seq.tokens)) - 1
        if req.max_tokens is not None:
            limit = min(limit, req.max_tokens - len(req.generated) - 1)
        if limit > 0:
            asks.setdefault(id(req.drafter), (req.drafter, []))[1].append((req, limit))
    out = {}
    for drafter, items in asks.values():
        proposals = drafter.propose_many([(r.seq.tokens + r.pending, limit) for r, limit in items])
        out.update({id(r): list(p) for (r, _), p in zip(items, proposals)})
    return out


def check_same_vocabulary(target, draft) -> None:
    from .errors import ModelError

    t, d = target.tokenizer, draft.tokenizer
    sample = range(0, t.n_vocab, max(1, t.n_vocab // 512))
    if t.n_vocab != d.n_vocab or any(t.token_text(i) != d.token_text(i) for i in sample):
        raise ModelError(f"the draft model's vocabulary ({d.n_vocab} tokens) is not the target's "
                         f"({t.n_vocab}): speculative decoding needs one tokenizer")


def make_drafter(draft, n_draft: int, load_model=None):
    """LLM(draft=...): None, "lookup", an object with propose_many(asks), or a model (path or
    alias, loaded with load_model; an LLM as it is) to draft with."""
    if draft is None:
        return None
    if draft == "lookup":
        return PromptLookup(n_draft)
    if hasattr(draft, "propose_many"):
        return draft
    if hasattr(draft, "engine"):
        return DraftModel(draft, n_draft)
    if load_model is not None:
        return DraftModel(load_model(draft), n_draft)
    raise ValueError(f"draft must be None, 'lookup', a drafter or a model, not {draft!r}")
