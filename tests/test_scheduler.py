"""Scheduling without a model: the Scheduler plans batches over a KVCache whose native context
is replaced by plain arrays, and the test plays the engine's part (each planned chunk is taken
as decoded; a request whose prompt is done "samples" token 1)."""

import numpy as np
import pytest

from llmrt.generation import Request
from llmrt.kv import KVCache
from llmrt.sampling import SamplingParams, build_chain
from llmrt.scheduler import Plan, Scheduler

N_VOCAB = 32


class ArrayContext:
    """What KVCache uses of a native context: the cell arrays and the K/V moves (recorded)."""

    def __init__(self, n_cells, n_seq_max=8):
        self.cell_pos = np.full(n_cells, -1, np.int32)
        self.cell_seqs = np.zeros(n_cells, np.uint64)
        self.n_seq_max = n_seq_max
        self.moves = []

    def kv_copy(self, src, dst):
        self.moves.append(("copy", list(src), list(dst)))

    def kv_shift(self, cells, delta):
        self.moves.append(("shift", list(cells), delta))


class NoText:
    def feed(self, ids):
        return ""

    def flush(self):
        return ""


def request(prompt, max_tokens=4):
    return Request(list(prompt), build_chain(SamplingParams(temp=0.0), N_VOCAB), None, NoText(),
                   eog_ids=frozenset(), max_tokens=max_tokens)


def scheduler(n_cells=64, **kw):
    return Scheduler(KVCache(ArrayContext(n_cells)), n_ctx=kw.pop("n_ctx", 64), **kw)


def run_plan(s: Scheduler, plan: Plan) -> None:
    """The engine's bookkeeping after a decode, with token 1 as every sampled token."""
    for e in plan.entries:
        req = e.req
        req.seq.append(req.pending[:e.n_tokens])
        req.pending = req.pending[e.n_tokens:]
        if not req.pending:
            req.generated.append(1)
            if len(req.generated) >= req.max_tokens:
                req.finish("length")
                s.release(req)
            else:
                req.pending = [1]


def test_chunked_prefill_fills_the_token_budget_in_admission_order():
    s = scheduler(n_batch=8)
    a, b, c = request(range(2, 7)), request(range(10, 17)), request(range(20, 23))
    for r in (a, b, c):
        s.submit(r)
    plan = s.plan()
    assert [(e.req, e.n_tokens) for e in plan.entries] == [(a, 5), (b, 3)]
    tokens, positions, seq_ids, cells, want = plan.batch()
    assert tokens.tolist() == [2, 3, 4, 5, 6, 10, 11, 12]
    assert positions.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert seq_ids.tolist() == [a.seq.id] * 5 + [b.seq.id] * 3
    assert len(set(cells.tolist())) == 8
    assert want.tolist() == [0, 0, 0, 0, 1, 0, 0, 0]   # logits only where a prompt ends
    run_plan(s, plan)
    plan = s.plan()
    # a now decodes one token; prefilling requests follow it, b's rest before c
    assert [(e.req, e.n_tokens) for e in plan.entries] == [(a, 1), (b, 4), (c, 3)]


def test_decoding_requests_share_one_step():
    s = scheduler(n_batch=16)
    reqs = [request([2 + i, 3, 4], max_tokens=3) for i in range(4)]
    for r in reqs:
        s.submit(r)
    run_plan(s, s.plan())
    plan = s.plan()
    assert [e.n_tokens for e in plan.entries] == [1, 1, 1, 1]
    assert plan.batch()[1].tolist() == [3, 3, 3, 3]   # each at its own position 3


def test_n_parallel_caps_the_running_requests():
    s = scheduler(n_parallel=2)
    reqs = [request([2, 3]) for _ in range(3)]
    for r in reqs:
        s.submit(r)
    s.plan()
    assert s.running == reqs[:2] and list(s.waiting) == reqs[2:]


def test_a_cached_prefix_is_reused():
    s = scheduler()
    first = request([2, 3, 4, 5, 6], max_tokens=1)
    s.submit(first)
    run_plan(s, s.plan())
    assert first.done and first.seq is None   # released: its sequence stays as a cached prefix
    second = request([2, 3, 4, 5, 9])
    s.submit(second)
    plan = s.plan()
    assert [(e.req, e.n_tokens) for e in plan.entries] == [(second, 1)]   # only the differing token
    assert s.stats.prefix_hits == 1 and s.stats.prefix_tokens_reused == 4


def test_the_newest_request_is_preempted_when_cells_run_out():
    s = scheduler(n_cells=12, n_batch=64)
    old, new = request(range(2, 7), max_tokens=20), request(range(10, 15), max_tokens=20)
    s.submit(old)
    run_plan(s, s.plan())
    s.submit(new)
    run_plan(s, s.plan())
    for _ in range(3):               # both decode until the 12 cells are exhausted
        run_plan(s, s.plan())
    assert s.stats.preemptions >= 1
    assert old in s.running and new in s.waiting
    assert new.pending[:5] == list(range(10, 15))  # it will recompute its context


def test_context_shift_keeps_bos_and_halves_the_rest():
    s = Scheduler(KVCache(ArrayContext(64)), n_ctx=8, bos_id=lambda: 2)
    r = request([2, 5, 6, 7, 8, 9, 10], max_tokens=10)
    s.submit(r)
    run_plan(s, s.plan())
    run_plan(s, s.plan())            # 8 tokens: the context is full
    plan = s.plan()
    assert s.stats.context_shifts == 1
    assert r.seq.tokens[0] == 2 and len(r.seq.tokens) == 5   # BOS + 4 of the 7 others kept
    assert plan.batch()[1].tolist() == [5]                     # positions moved down
    assert any(m[0] == "shift" for m in s.kv.ctx.moves)


@pytest.mark.parametrize("n_batch", [1, 3])
def test_a_prompt_is_never_split_past_the_budget(n_batch):
    s = scheduler(n_batch=n_batch)
    s.submit(request(range(2, 9)))
    plan = s.plan()
    assert sum(e.n_tokens for e in plan.entries) == n_batch
