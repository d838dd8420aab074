"""Batch scheduler: many requests share one native context and one decode call per step.

Every step (`Engine.step`):
  1. waiting requests join while there are sequence ids and running slots (continuous batching);
     a joining request reuses the longest cached token prefix of any sequence (prefix cache:
     seq_cp sets bits, no data moves), taking over an unreferenced cached sequence outright;
  2. the batch is planned: one token for each decoding request, then prompt chunks of the
     prefilling ones up to n_batch tokens in all (chunked prefill), a context shift for a
     sequence at n_ctx, cells claimed through kv.find_slot — evicting unreferenced cached
     prefixes (LRU), then preempting the newest request (recomputed later) when cells run out;
  3. one ctx.decode over the batch; each request whose chunk ended samples from its row.

Nobody runs a thread for this: whoever waits for output (a stream iterator, generate) takes the
lock and runs a step, which advances every request. The native decode releases the GIL, so
concurrent `stream` calls from threads batch together.

The direct API of LLM (logits / eval_prefix / eval_next) is one more sequence here, `direct`,
decoded alone under the same lock and usable as a cached prefix by requests.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from .errors import ContextError, LLMRTError
from .generation import Request, TokenEvent
from .kv import KVCache
from .speculative import propose_drafts

if TYPE_CHECKING:
    from .llm import LLM


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


class Engine:
    def __init__(self, llm: "LLM", n_parallel: int = 16, n_batch: int = 512, context_shift: bool = True,
                 n_keep: int = 0, defrag_threshold: float = 0.1):
        if n_batch < 1 or n_parallel < 1 or n_keep < 0:
            raise ContextError("n_batch and n_parallel must be >= 1, n_keep >= 0")
        self.llm = llm
        self.ctx = llm._ctx
        hp = llm.hparams
        self.kv = KVCache(self.ctx, self.ctx.n_seq_max, hp.get("sliding_window", 0), hp.get("layer_is_swa", ()))
        self.n_ctx = llm.n_ctx
        self.n_batch = int(n_batch)
        self.n_parallel = int(n_parallel)
        self.context_shift = bool(context_shift)
        self.n_keep = int(n_keep)
        self.defrag_threshold = float(defrag_threshold)
        self.lock = threading.RLock()
        self.seqs: dict[int, Seq] = {}
        self.direct: Seq | None = None
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.tick = 0
        self.admitted = 0
        self.stats = EngineStats()

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

    def _make_room(self, n: int, exclude: Iterable[Seq] = ()) -> bool:
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
        with self.lock:
            if not req.done:
                self.waiting.append(req)

    def cancel(self, req: Request) -> None:
        with self.lock:
            if req in self.waiting:
                self.waiting.remove(req)
            req.finish("cancelled")
            self._release(req)

    def _release(self, req: Request) -> None:
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

    def _owned_cells(self) -> np.ndarray:
        """(n_cells,) bool: cells some running request's sequence holds."""
        owned = np.uint64(0)
        for s in self.seqs.values():
            if s.owner is not None:
                owned |= np.uint64(1) << np.uint64(s.id)
        kv = self.kv
        return (kv.pos >= 0) & ((kv.seqs & owned) != 0)

    def _available_cells(self) -> int:
        """Free cells plus those only cached (unreferenced) sequences hold."""
        return self.kv.n_cells - int(np.count_nonzero(self._owned_cells()))

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
        tok = self.llm.tokenizer
        n_keep = self.n_keep + (1 if tok.add_bos and seq.tokens and seq.tokens[0] == tok.bos_id else 0)
        n_keep = min(n_keep, n_past - 2)
        n_discard = max(1, (n_past - n_keep) // 2)
        self.kv.seq_rm(seq.id, n_keep, n_keep + n_discard)
        try:
            self.kv.seq_add(seq.id, n_keep + n_discard, n_past, -n_discard)
        except ContextError:
            self._make_room(n_past, exclude=[seq])  # shared cells need private copies
            self.kv.seq_add(seq.id, n_keep + n_discard, n_past, -n_discard)
        del seq.tokens[n_keep:n_keep + n_discard]
        seq.clean = min(seq.clean, n_keep)
        self.stats.context_shifts += 1
        req.stats.context_shifts += 1

    # ---- one step ------------------------------------------------------------------------

    def _claim(self, req: Request, k: int, planned: list) -> int:
        """Make k cells available for req (fewer for a prompt chunk); returns how many."""
        if self.kv.n_free >= k or self._make_room(k):
            return k
        while self.kv.n_free < k and self._preempt_newest(keep=planned + [req]):
            pass
        if self.kv.n_free >= k:
            return k
        if len(req.pending) > 1:
            return self.kv.n_free  # a smaller prompt chunk now, the rest later
        return 0

    def _plan(self) -> list:
        """[(request, n_tokens, cells)] for this step; cells already claimed."""
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
            plan = [(r, 1, cells[i:i + 1]) for i, r in enumerate(decoding)]
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
                    self._release(req)
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
                    self._release(req)
                continue
            p0 = len(seq.tokens)
            cells = self.kv.find_slot(np.full(k, seq.id), np.arange(p0, p0 + k))
            if draft:
                req.draft = draft
            plan.append((req, k, cells))
            planned.append(req)
            budget -= k
        return plan

    def step(self) -> bool:
        """Admit, plan and decode one batch. False when nothing could run."""
        with self.lock:
            self.tick += 1
            self._admit_waiting()
            if not self.running:
                return False
            if self.defrag_threshold and self.kv.fragmentation() > self.defrag_threshold:
                self.kv.defrag()
                self.stats.defrags += 1
            plan = self._plan()
            if not plan:
                return bool(self.running) or bool(self.waiting)
            self._decode_plan(plan)
            self.stats.steps += 1
            return True

    def _decode_plan(self, plan: list) -> None:
        tokens, positions, seq_ids, want = [], [], [], []
        for req, k, cells in plan:
            p0 = len(req.seq.tokens)
            tokens.extend((req.pending + req.draft)[:k])
            positions.append(np.arange(p0, p0 + k, dtype=np.int32))
            seq_ids.append(np.full(k, req.seq.id, dtype=np.int32))
            w = np.zeros(k, np.uint8)
            w[-1] = k == len(req.pending) + len(req.draft)
            if req.draft:
                w[:] = 1   # the next token and every draft token: each position is checked
            want.append(w)
        cells = np.concatenate([c for _, _, c in plan]).astype(np.int32)
        try:
            logits = self.ctx.decode(np.asarray(tokens, dtype=np.int32), np.concatenate(positions),
                                     np.concatenate(seq_ids), cells, np.concatenate(want))
        except BaseException as e:
            self.kv.release(cells)  # claimed for K/V that never got written
            for req, _, _ in plan:
                req.finish("error", e)
                self._release(req)
            if not isinstance(e, LLMRTError):
                raise
            return
        row = 0
        for req, k, _ in plan:
            if req.draft:
                row = self._verify(req, logits, row)
                self._after_step(req)
                continue
            chunk = req.pending[:k]
            req.seq.append(chunk)
            req.pending = req.pending[k:]
            if req.t_first is None:
                self.stats.prompt_tokens_decoded += k
            if not req.pending:
                before = len(req.generated)
                req.on_logits(logits[row])
                row += 1
                self.stats.tokens_generated += len(req.generated) - before
            self._after_step(req)

    def _after_step(self, req: Request) -> None:
        if req.done:
            self._release(req)
        elif self.kv.swa_window:
            self.kv.release_swa(req.seq.id)

    def _verify(self, req: Request, logits: np.ndarray, row: int) -> int:
        """A speculating request's step: its next token and draft were decoded together; keep
        the draft tokens the model agrees with, drop the cells of the rest. Returns the next row."""
        draft, seq = req.draft, req.seq
        req.draft = []
        p0 = len(seq.tokens)
        seq.append(req.pending + draft)
        req.pending = []
        before = len(req.generated)
        accepted = req.on_logits_rows(logits[row:row + 1 + len(draft)], draft)
        keep = p0 + 1 + accepted
        if keep < len(seq.tokens):
            self.kv.seq_rm(seq.id, keep)
            seq.truncate(keep)
        self.stats.tokens_generated += len(req.generated) - before
        self.stats.draft_tokens += len(draft)
        self.stats.draft_accepted += accepted
        return row + 1 + len(draft)

    # ---- driving -------------------------------------------------------------------------

    def events(self, req: Request) -> Iterator[TokenEvent]:
        """The request's events as they come, running steps while it has none."""
        self.submit(req)
        try:
            while True:
                while req.events:
                    yield req.events.popleft()
                if req.done:
                    if req.error is not None:
                        raise req.error
                    return
                with self.lock:
                    if not req.events and not req.done and not self.step():
                        req.finish("error", ContextError("the request cannot be scheduled"))
        finally:
            if not req.done:
                self.cancel(req)

    def run(self, reqs: list) -> None:
        """Run the requests to completion together; their events stay queued on them."""
        for r in reqs:
            self.submit(r)
        try:
            while not all(r.done for r in reqs):
                with self.lock:
                    if not self.step():
                        for r in reqs:
                            r.finish("error", ContextError("the request cannot be scheduled"))
        finally:
            for r in reqs:
                if not r.done:
                    self.cancel(r)
        for r in reqs:
            if r.error is not None:
                raise r.error

    # ---- the direct single-sequence API ---------------------------------------------------

    def _direct_seq(self) -> Seq:
        if self.direct is None:
            sid = self._free_id()
            if sid is None:
                raise ContextError("every sequence id is in use by running requests")
            self.direct = self.seqs[sid] = Seq(sid, [])
        self.direct.last_used = self.tick
        return self.direct

    def decode_direct(self, ids: np.ndarray, want_all: bool) -> np.ndarray:
        """Append ids (int32) to the direct sequence in n_batch chunks; logits of every token
        (want_all) or of the last one."""
        seq = self._direct_seq()
        start = len(seq.tokens)
        if start + ids.size > self.n_ctx:
            raise ContextError(f"{start + ids.size} tokens do not fit in the context of {self.n_ctx}")
        outputs = []
        for begin in range(0, ids.size, self.n_batch):
            chunk = ids[begin:begin + self.n_batch]
            k = chunk.size
            if not self._make_room(k, exclude=[seq]):
                raise ContextError(f"KV cache full: {k} cells needed, {self.kv.n_free} free "
                                   f"(the rest held by running requests)")
            p0 = len(seq.tokens)
            pos = np.arange(p0, p0 + k, dtype=np.int32)
            cells = self.kv.find_slot(np.full(k, seq.id), pos)
            want = np.ones(k, np.uint8) if want_all else np.zeros(k, np.uint8)
            want[-1] = 1 if begin + k == ids.size else want[-1]
            try:
                out = self.ctx.decode(chunk, pos, np.full(k, seq.id, np.int32), cells, want)
            except BaseException:
                self.kv.release(cells)
                raise
            seq.append(chunk.tolist())
            if out.shape[0]:
                outputs.append(out)
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]

    def eval_prefix(self, ids: np.ndarray) -> np.ndarray:
        with self.lock:
            seq = self._direct_seq()
            keep = common_prefix(seq.tokens, ids, min(seq.clean, ids.size - 1))
            if keep < len(seq.tokens):
                self.kv.seq_rm(seq.id, keep)
                seq.truncate(keep)
            return self.decode_direct(ids[keep:], want_all=False)[-1]

    def eval_next(self, ids: np.ndarray) -> np.ndarray:
        with self.lock:
            if self.direct is None or not self.direct.tokens:
                raise ContextError("eval_next needs a sequence started by eval_prefix (it may have "
                                   "been evicted to make room for other requests)")
            return self.decode_direct(ids, want_all=False)[-1]

    def direct_tokens(self) -> list:
        return list(self.direct.tokens) if self.direct is not None else []

    def reset(self) -> None:
        """Forget every cached sequence (running requests keep theirs)."""
        with self.lock:
            if not self.running:
                self.kv.clear()
                self.seqs.clear()
                self.direct = None
                return
            for s in [s for s in self.seqs.values() if s.owner is None]:
                self._evict(s)

    def info(self) -> dict:
        with self.lock:
            d = asdict(self.stats)
            d.update(n_cells=self.kv.n_cells, cells_used=self.kv.n_used,
                     cells_in_use=int(np.count_nonzero(self._owned_cells())),
                     cached_sequences=sum(1 for s in self.seqs.values() if s.owner is None),
                     running=len(self.running), waiting=len(self.waiting))
            return d
