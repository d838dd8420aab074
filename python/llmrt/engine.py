"""The engine: runs the scheduler's plans through the native context and samples.

Every step (`Engine.step`): `Scheduler.plan` admits waiting requests and picks the batch
(scheduler.py); one `Context.decode` runs it; each request whose chunk ended samples from its
row (`Request.on_logits`), a speculating one checks its draft (`_verify`).

Nobody runs a thread for this: whoever waits for output (a stream iterator, generate) takes the
lock and runs a step, which advances every request. The native decode releases the GIL, so
concurrent `stream` calls from threads batch together.

The direct API of LLM (logits / eval_prefix / eval_next) is one more sequence here, `direct`,
decoded alone under the same lock and usable as a cached prefix by requests.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Callable, Iterator

import numpy as np

from .errors import ContextError, LLMRTError
from .generation import Request, TokenEvent
from .kv import KVCache
from .scheduler import EngineStats, Plan, Scheduler, Seq, common_prefix

__all__ = ["Engine", "EngineStats", "Seq", "common_prefix"]


class Engine:
    """Requests in, token events out, over one native context (`ctx`) and its cells' manager
    (`kv`). Thread-safe: every method takes the engine's lock."""

    def __init__(self, ctx, kv: KVCache, n_ctx: int, n_parallel: int = 16, n_batch: int = 512,
                 context_shift: bool = True, n_keep: int = 0, defrag_threshold: float = 0.1,
                 bos_id: Callable[[], int | None] = lambda: None):
        self.ctx = ctx
        self.kv = kv
        self.n_ctx = int(n_ctx)
        self.n_batch = int(n_batch)
        self.stats = EngineStats()
        self.scheduler = Scheduler(kv, n_ctx, n_parallel, n_batch, context_shift, n_keep, defrag_threshold,
                                   bos_id, self.stats)
        self.lock = threading.RLock()

    # the scheduler's state, as callers and /metrics read it
    @property
    def n_parallel(self) -> int:
        return self.scheduler.n_parallel

    @property
    def running(self) -> list[Request]:
        return self.scheduler.running

    @property
    def waiting(self):
        return self.scheduler.waiting

    def submit(self, req: Request) -> None:
        with self.lock:
            self.scheduler.submit(req)

    def cancel(self, req: Request) -> None:
        with self.lock:
            self.scheduler.cancel(req)

    # ---- one step ------------------------------------------------------------------------

    def step(self) -> bool:
        """Plan and decode one batch. False when nothing could run."""
        with self.lock:
            plan = self.scheduler.plan()
            if plan is None:
                return False
            if not plan.entries:
                return bool(self.running) or bool(self.waiting)
            self._execute(plan)
            self.stats.steps += 1
            return True

    def _execute(self, plan: Plan) -> None:
        tokens, positions, seq_ids, cells, want = plan.batch()
        try:
            logits = self.ctx.decode(tokens, positions, seq_ids, cells, want)
        except BaseException as e:
            self.kv.release(cells)  # claimed for K/V that never got written
            for entry in plan.entries:
                entry.req.finish("error", e)
                self.scheduler.release(entry.req)
            if not isinstance(e, LLMRTError):
                raise
            return
        row = 0
        for entry in plan.entries:
            req, k = entry.req, entry.n_tokens
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
            self.scheduler.release(req)
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

    def decode_direct(self, ids: np.ndarray, want_all: bool) -> np.ndarray:
        """Append ids (int32) to the direct sequence in n_batch chunks; logits of every token
        (want_all) or of the last one."""
        seq = self.scheduler.direct_seq()
        start = len(seq.tokens)
        if start + ids.size > self.n_ctx:
            raise ContextError(f"{start + ids.size} tokens do not fit in the context of {self.n_ctx}")
        outputs = []
        for begin in range(0, ids.size, self.n_batch):
            chunk = ids[begin:begin + self.n_batch]
            k = chunk.size
            if not self.scheduler.make_room(k, exclude=[seq]):
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
            seq = self.scheduler.direct_seq()
            keep = common_prefix(seq.tokens, ids, min(seq.clean, ids.size - 1))
            if keep < len(seq.tokens):
                self.kv.seq_rm(seq.id, keep)
                seq.truncate(keep)
            return self.decode_direct(ids[keep:], want_all=False)[-1]

    def eval_next(self, ids: np.ndarray) -> np.ndarray:
        with self.lock:
            direct = self.scheduler.direct
            if direct is None or not direct.tokens:
                raise ContextError("eval_next needs a sequence started by eval_prefix (it may have "
                                   "been evicted to make room for other requests)")
            return self.decode_direct(ids, want_all=False)[-1]

    def direct_tokens(self) -> list:
        direct = self.scheduler.direct
        return list(direct.tokens) if direct is not None else []

    def reset(self) -> None:
        """Forget every cached sequence (running requests keep theirs)."""
        with self.lock:
            self.scheduler.reset()

    def info(self) -> dict:
        with self.lock:
            d = asdict(self.stats)
            d.update(n_cells=self.kv.n_cells, cells_used=self.kv.n_used,
                     cells_in_use=self.scheduler.cells_in_use(),
                     cached_sequences=sum(1 for s in self.scheduler.seqs.values() if s.owner is None),
                     running=len(self.running), waiting=len(self.waiting))
            return d
