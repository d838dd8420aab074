"""Scheduling: which requests run in the next decode call, with which tokens and KV cells.

`Scheduler.plan` makes one step's decisions and claims the cells; `Plan.batch` turns them into
the arrays `Context.decode` takes. Nothing here runs the model, so scheduling is tested without
one (tests/test_scheduler.py). The engine (engine.py) executes plans and samples.

A step's plan:
  1. waiting requests join while there are sequence ids and running slots (continuous batching);
     a joining request reuses the longest cached token prefix of any sequence (prefix cache:
     seq_cp sets bits, no data moves), taking over an unreferenced cached sequence outright;
  2. one token for each decoding request (plus its draft tokens when speculating), then prompt
     chunks of the prefilling ones up to n_batch tokens in all (chunked prefill), a context
     shift for a sequence at n_ctx, cells claimed through kv.find_slot — evicting unreferenced
     cached prefixes (LRU), then preempting the newest request (recomputed later) when cells
     run out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .errors import ContextError
from .generation import Request
from .kv import KVCache
from .speculative import propose_drafts


@dataclass(eq=False)
class Seq:
    """A sequence id with cells in the cache: tokens[i] sits at position i."""
    id: int
    tokens: list
    clean: int = 0        # leading tokens whose K/V a fresh prefill reproduces (a shift breaks it)
    owner: object = None  # the running Request; None: a cached prefix (evictable)
    last_used: int = 0

    def append(self, toks) -> None:
        if self.clean == len(self.tokens):
            self.clean += len(toks)
        self.tokens.extend(toks)

    def truncate(self, n: int) -> None:
        del self.tokens[n:]
        self.clean = min(self.clean, n)


@dataclass
class EngineStats:
    steps: int = 0
    prompt_tokens_decoded: int = 0   # prompt tokens actually run through the model
    tokens_generated: int = 0
    prefix_hits: int = 0             # requests that reused a cached prefix
    prefix_tokens_reused: int = 0
    context_shifts: int = 0
    preemptions: int = 0
    evictions: int = 0
    defrags: int = 0
    draft_tokens: int = 0            # speculative tokens proposed and checked
    draft_accepted: int = 0          # of those, the ones the model agreed with


def common_prefix(a, b, limit: int) -> int:
    n = min(len(a), len(b), limit)
    if n <= 0:
        return 0
    x = np.asarray(a[:n], dtype=np.int64)
    y = np.asarray(b[:n], dtype=np.int64)
    diff = np.flatnonzero(x != y)
    return int(diff[0]) if diff.size else n


@dataclass(eq=False)
class PlanEntry:
    req: Request
    n_tokens: int        # tokens of the request in this batch (its draft tokens included)
    cells: np.ndarray    # the cells they go to, claimed


@dataclass
class Plan:
    entries: list[PlanEntry] = field(default_factory=list)

    def batch(self) -> tuple[np.ndarray, ...]:
        """(tokens, positions, seq_ids, cells, want_logits) for Context.decode."""
        tokens, positions, seq_ids, want = [], [], [], []
        for e in self.entries:
            req, k = e.req, e.n_tokens
            p0 = len(req.seq.tokens)
            tokens.extend((req.pending + req.draft)[:k])
            positions.append(np.arange(p0, p0 + k, dtype=np.int32))
            seq_ids.append(np.full(k, req.seq.id, dtype=np.int32))
            w = np.zeros(k, np.uint8)
            w[-1] = k == len(req.pending) + len(req.draft)
            if req.draft:
                w[:] = 1   # the next token and every draft token: each position is checked
            want.append(w)
        return (np.asarray(tokens, dtype=np.int32), np.concatenate(positions), np.concatenate(seq_ids),
                np.concatenate([e.cells for e in self.entries]).astype(np.int32), np.concatenate(want))


class Scheduler:
    """Owns the sequences, the queues and the KV cells' assignment. Not thread-safe by itself:
    the engine calls it under its lock."""

    def __init__(self, kv: KVCache, n_ctx: int, n_parallel: int = 16, n_batch: int = 512,
                 context_shift: bool = True, n_keep: int = 0, defrag_threshold: float = 0.1,
                 bos_id: Callable[[], int | None] = lambda: None, stats: EngineStats | None = None):
        if n_batch < 1 or n_parallel < 1 or n_keep < 0:
            raise ContextError("n_batch and n_parallel must be >= 1, n_keep >= 0")
        self.kv = kv
        self.n_ctx = int(n_ctx)
        self.n_batch = int(n_batch)
        self.n_parallel = int(n_parallel)
        self.context_shift = bool(context_shift)
        self.n_keep = int(n_keep)
        self.defrag_threshold = float(defrag_threshold)
        # The token a context shift keeps at position 0 when a sequence starts with it (BOS);
        # a callable so the tokenizer is only consulted when a shift happens.
        self.bos_id = bos_id
        self.seqs: dict[int, Seq] = {}
        self.direct: Seq | None = None
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.tick = 0
        self.admitted = 0
        self.stats = stats if stats is not None else EngineStats()

    # ---- sequences and cells -------------------------------------------------------------

    def _lru_victim(self, exclude: Iterable[Seq] = ()) -> Seq | None:
        ex = [id(s) for s in exclude if s is not None]
        cands = [s for s in self.seqs.values() if s.owner is None and id(s) not in ex]
        return min(cands, key=lambda s: s.last_used) if cands else None

    def _evict(self, seq: Seq) -> None:
        self.kv.seq_rm(seq.id)
        del self.seqs[seq.id]
        if seq is self.direct:
            self.direct = None
        self.stats.evictions += 1

    def _free_id(self, exclude: Iterable[Seq] = ()) -> int | None:
        for i in range(self.kv.n_seq_max):
            if i not in self.seqs:
                return i
        victim = self._lru_victim(exclude)
        if victim is None:
            return None
        self._evict(victim)
        return victim.id

    def make_room(self, n: int, exclude: Iterable[Seq] = ()) -> bool:
        exclude = list(exclude)
        while self.kv.n_free < n:
            victim = self._lru_victim(exclude)
            if victim is None:
                return False
            self._evict(victim)
        return True

    def _best_prefix(self, tokens: list, limit: int) -> tuple[Seq | None, int]:
        best, best_len = None, 0
        for s in self.seqs.values():
            n = common_prefix(s.tokens, tokens, min(limit, s.clean))
            if n > best_len and self.kv.can_extend_at(s.id, n):
                best, best_len = s, n
        return best, best_len

    # ---- requests ------------------------------------------------------------------------

    def submit(self, req: Request) -> None:
        if not req.done:
            self.waiting.append(req)

    def cancel(self, req: Request) -> None:
        if req in self.waiting:
            self.waiting.remove(req)
        req.finish("cancelled")
        self.release(req)

    def release(self, req: Request) -> None:
        """A finished or cancelled request gives up its sequence (kept as a cached prefix)."""
        if req in self.running:
            self.running.remove(req)
        seq, req.seq = req.seq, None
        if seq is not None:
            seq.owner = None
            seq.last_used = self.tick

    def _admit(self, req: Request) -> bool:
        src, n = self._best_prefix(req.pending, len(req.pending) - 1)
        if src is not None and src.owner is None and src is not self.direct:
            seq = src  # an unreferenced cached sequence: continue it in place
            self.kv.seq_rm(seq.id, n)
            seq.truncate(n)
        else:
            sid = self._free_id(exclude=[src])
            if sid is None:
                return False
            seq = Seq(sid, [])
            if n:
                self.kv.seq_cp(src.id, sid, 0, n)
                seq.append(req.pending[:n])
            self.seqs[sid] = seq
        seq.owner = req
        req.seq = seq
        if n:
            self.stats.prefix_hits += 1
            self.stats.prefix_tokens_reused += n
            if req.t_first is None:
                req.stats.prompt_tokens_cached = n
        req.pending = req.pending[n:]
        self.admitted += 1
        req.order = self.admitted
        self.running.append(req)
        return True

    def cells_in_use(self) -> int:
        """Cells some running request's sequence holds."""
        return self.kv.n_cells_held([s.id for s in self.seqs.values() if s.owner is not None])

    def _available_cells(self) -> int:
        """Free cells plus those only cached (unreferenced) sequences hold."""
        return self.kv.n_cells - self.cells_in_use()

    def _admit_waiting(self) -> None:
        while self.waiting and len(self.running) < self.n_parallel:
            req = self.waiting[0]
            if req.done:
                self.waiting.popleft()
                continue
            # Join only if the prompt fits next to the running requests' next tokens: otherwise
            # it would take cells they need, be preempted, rejoin, ... (thrashing).
            if self.running and len(req.pending) + len(self.running) > self._available_cells():
                break
            if not self._admit(req):
                break
            self.waiting.popleft()

    def _preempt_newest(self, keep: list) -> bool:
        """Free the cells of the most recently admitted request not in `keep`; it goes back to
        the front of the queue and recomputes its context later (vLLM's recompute preemption)."""
        kept = {id(r) for r in keep}
        cands = [r for r in self.running if id(r) not in kept]
        if not cands:
            return False
        req = max(cands, key=lambda r: r.order)
        seq = req.seq
        req.pending = seq.tokens + req.pending
        self.running.remove(req)
        req.seq = None
        self.kv.seq_rm(seq.id)
        del self.seqs[seq.id]
        self.waiting.appendleft(req)
        self.stats.preemptions += 1
        return True

    def _context_shift(self, req: Request) -> None:
        """llama.cpp's context shift: keep the first n_keep tokens (and BOS), drop half of the
        rest, move the remainder down with K re-rotated."""
        seq = req.seq
        n_past = len(seq.tokens)
        bos = self.bos_id()
        n_keep = self.n_keep + (1 if bos is not None and seq.tokens and seq.tokens[0] == bos else 0)
        n_keep = min(n_keep, n_past - 2)
        n_discard = max(1, (n_past - n_keep) // 2)
        self.kv.seq_rm(seq.id, n_keep, n_keep + n_discard)
        try:
            self.kv.seq_add(seq.id, n_keep + n_discard, n_past, -n_discard)
        except ContextError:
            self.make_room(n_past, exclude=[seq])  # shared cells need private copies
            self.kv.seq_add(seq.id, n_keep + n_discard, n_past, -n_discard)
        del seq.tokens[n_keep:n_keep + n_discard]
        seq.clean = min(seq.clean, n_keep)
        self.stats.context_shifts += 1
        req.stats.context_shifts += 1

    # ---- one step ------------------------------------------------------------------------

    def plan(self) -> Plan | None:
        """Admit, maybe defragment, and plan the next batch; None when nothing is running."""
        self.tick += 1
        self._admit_waiting()
        if not self.running:
            return None
        if self.defrag_threshold and self.kv.fragmentation() > self.defrag_threshold:
            self.kv.defrag()
            self.stats.defrags += 1
        return Plan(self._entries())

    def _claim(self, req: Request, k: int, planned: list) -> int:
        """Make k cells available for req (fewer for a prompt chunk); returns how many."""
        if self.kv.n_free >= k or self.make_room(k):
            return k
        while self.kv.n_free < k and self._preempt_newest(keep=planned + [req]):
            pass
        if self.kv.n_free >= k:
            return k
        if len(req.pending) > 1:
            return self.kv.n_free  # a smaller prompt chunk now, the rest later
        return 0

    def _entries(self) -> list[PlanEntry]:
        """This step's requests, token counts and cells (claimed already)."""
        plan, planned = [], []
        budget = self.n_batch
        order = sorted(self.running, key=lambda r: (len(r.pending) > 1, r.order))
        # The busy server's usual step: sequences that each decode one token claim their cells
        # in one find_slot call. Anything else (a full cache, a context shift, prompt chunks)
        # goes through the loop below, one request at a time.
        decoding = [r for r in order if len(r.pending) == 1 and r.seq is not None and not r.done
                    and r.drafter is None and len(r.seq.tokens) < self.n_ctx][:budget]
        if len(decoding) > 1 and self.kv.n_free >= len(decoding):
            cells = self.kv.find_slot([r.seq.id for r in decoding], [len(r.seq.tokens) for r in decoding])
            plan = [PlanEntry(r, 1, cells[i:i + 1]) for i, r in enumerate(decoding)]
            planned = list(decoding)
            budget -= len(decoding)
        drafts = propose_drafts(order, budget, self.n_ctx)
        for req in order:
            if budget == 0:
                break
            if req.seq is None or req.done or req in planned:
                continue  # preempted while planning, or claimed above
            seq = req.seq
            if len(seq.tokens) >= self.n_ctx:
                if not self.context_shift:
                    req.finish("length", ContextError(
                        f"the sequence reached the context size {self.n_ctx} and context shift is off"))
                    self.release(req)
                    continue
                self._context_shift(req)
            draft = drafts.get(id(req), [])[:budget - 1]
            k = min(len(req.pending), budget, self.n_ctx - len(seq.tokens)) + len(draft)
            k = self._claim(req, k, planned)
            if draft and k < 1 + len(draft):
                draft, k = [], min(k, 1)
            if k == 0:
                if not planned and not any(r is not req for r in self.running):
                    req.finish("error", ContextError(
                        f"KV cache full: {self.kv.n_cells} cells cannot hold this request"))
                    self.release(req)
                continue
            p0 = len(seq.tokens)
            cells = self.kv.find_slot(np.full(k, seq.id), np.arange(p0, p0 + k))
            if draft:
                req.draft = draft
            plan.append(PlanEntry(req, k, cells))
            planned.append(req)
            budget -= k
        return plan

    # ---- the direct single-sequence API's sequence -----------------------------------------

    def direct_seq(self) -> Seq:
        if self.direct is None:
            sid = self._free_id()
            if sid is None:
                raise ContextError("every sequence id is in use by running requests")
            self.direct = self.seqs[sid] = Seq(sid, [])
        self.direct.last_used = self.tick
        return self.direct

    def reset(self) -> None:
        """Forget every cached sequence (running requests keep theirs)."""
        if not self.running:
            self.kv.clear()
            self.seqs.clear()
            self.direct = None
            return
        for s in [s for s in self.seqs.values() if s.owner is None]:
            self._evict(s)
