"""KV-cache slot manager: which cell holds which position of which sequences.

The native context (docs/architecture.md, "The boundary") owns K/V storage and two arrays this class
reads and writes in place: `cell_pos` (int32, -1 = empty) and `cell_seqs` (uint64 bitmask of the
sequences that own the cell). A token attends to every cell holding its sequence's bit at a
position <= its own. Everything here is policy in the manner of llama.cpp's unified KV cache:

    find_slot   claim cells for a batch of (sequence, position) pairs (contiguous when possible)
    seq_rm      forget positions [p0, p1) of a sequence
    seq_cp      share positions [p0, p1) of one sequence with another (bits only, no data copy)
    seq_keep    drop every sequence but one
    seq_add     shift positions [p0, p1) by delta, re-rotating K (copy-on-write for shared cells)
    defrag      move used cells to the front (kv_copy) so free cells form one run
    release_swa forget cells no future token can see when every layer has a sliding window

Every mutator checks its preconditions first and raises ContextError before touching state.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import ContextError

_ONE = np.uint64(1)


class KVCache:
    def __init__(self, ctx, n_seq_max: int | None = None, sliding_window: int = 0,
                 layer_is_swa: Sequence[int] = ()):
        self.ctx = ctx
        self.pos: np.ndarray = ctx.cell_pos    # (n_cells,) int32 view, -1 = empty
        self.seqs: np.ndarray = ctx.cell_seqs  # (n_cells,) uint64 view, bit s = sequence s
        self.n_cells = int(self.pos.shape[0])
        self.n_seq_max = int(n_seq_max if n_seq_max is not None else ctx.n_seq_max)
        if not 1 <= self.n_seq_max <= 64:
            raise ContextError(f"n_seq_max must be in 1..64, got {self.n_seq_max}")
        # Cells may leave the cache once outside the window only if *every* layer has one: a
        # global layer (Gemma 3 mixes them) still attends to them, and all layers share cells.
        all_swa = len(layer_is_swa) > 0 and all(bool(x) for x in layer_is_swa)
        self.swa_window = int(sliding_window) if sliding_window > 0 and all_swa else 0
        self.head = 0  # where the next contiguous search starts

    # ---- queries -------------------------------------------------------------------------

    def _check_seq(self, seq: int) -> None:
        if not isinstance(seq, (int, np.integer)) or not 0 <= seq < self.n_seq_max:
            raise ContextError(f"sequence id {seq!r} outside 0..{self.n_seq_max - 1}")

    def _mask(self, seq: int) -> np.ndarray:
        """(n_cells,) bool: cells owned by seq."""
        return (self.seqs & (_ONE << np.uint64(seq))) != 0

    def _range_mask(self, seq: int, p0: int, p1: int | None) -> np.ndarray:
        m = self._mask(seq)
        if p0 > 0:
            m &= self.pos >= p0
        if p1 is not None and p1 >= 0:
            m &= self.pos < p1
        return m

    @property
    def n_used(self) -> int:
        return int(np.count_nonzero(self.pos >= 0))

    @property
    def n_free(self) -> int:
        return self.n_cells - self.n_used

    def n_cells_held(self, seq_ids: Sequence[int]) -> int:
        """Cells owned by any of seq_ids."""
        mask = np.uint64(0)
        for s in seq_ids:
            mask |= _ONE << np.uint64(s)
        return int(np.count_nonzero((self.pos >= 0) & ((self.seqs & mask) != 0)))

    def seq_cells(self, seq: int) -> np.ndarray:
        """Cells of seq, ordered by position."""
        self._check_seq(seq)
        cells = np.flatnonzero(self._mask(seq))
        return cells[np.argsort(self.pos[cells], kind="stable")]

    def seq_positions(self, seq: int) -> np.ndarray:
        return np.sort(self.pos[self._mask(seq)])

    def seq_pos_min(self, seq: int) -> int:
        self._check_seq(seq)
        p = self.pos[self._mask(seq)]
        return int(p.min()) if p.size else -1

    def seq_pos_max(self, seq: int) -> int:
        self._check_seq(seq)
        p = self.pos[self._mask(seq)]
        return int(p.max()) if p.size else -1

    def seq_length(self, seq: int) -> int:
        self._check_seq(seq)
        return int(np.count_nonzero(self._mask(seq)))

    def fragmentation(self) -> float:
        """Share of the cells below the highest used one that are free (0: one free run)."""
        used = np.flatnonzero(self.pos >= 0)
        if used.size == 0:
            return 0.0
        return 1.0 - used.size / float(used[-1] + 1)

    def can_extend_at(self, seq: int, length: int) -> bool:
        """Whether positions 0..length-1 of seq hold everything a token at position `length`
        attends to (false when release_swa already dropped part of its window)."""
        if length <= 0:
            return True
        if self.seq_pos_max(seq) < length - 1:
            return False
        if not self.swa_window:
            return self.seq_pos_min(seq) == 0
        return self.seq_pos_min(seq) <= max(0, length + 1 - self.swa_window)

    # ---- mutators ------------------------------------------------------------------------

    def find_slot(self, seq_ids: Sequence[int] | np.ndarray, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Claim one cell per (sequence, position) and write its metadata; returns (n,) int32.

        Contiguous cells from `head` on when such a run exists, else the first contiguous run
        anywhere, else any free cells. Raises ContextError (state untouched) when the cache lacks
        room or a pair is already present."""
        seq_ids = np.asarray(seq_ids, dtype=np.int64).reshape(-1)
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        n = seq_ids.size
        if n == 0 or positions.size != n:
            raise ContextError("find_slot: need as many positions as sequence ids, at least one")
        if seq_ids.min() < 0 or seq_ids.max() >= self.n_seq_max:
            raise ContextError(f"find_slot: sequence id outside 0..{self.n_seq_max - 1}")
        if positions.min() < 0:
            raise ContextError("find_slot: negative position")
        distinct = np.unique(seq_ids)
        if distinct.size == n:
            # one token per sequence (a decode step): every pair checked at once, (n, n_cells)
            owned = (self.seqs[None, :] >> seq_ids.astype(np.uint64)[:, None]) & _ONE
            held = ((self.pos[None, :] == positions[:, None]) & (owned != 0)).any(axis=1)
            if held.any():
                raise ContextError(f"find_slot: sequence {int(seq_ids[held.argmax()])} already holds "
                                   "one of these positions")
        for s in (distinct if distinct.size < n else ()):
            mine = positions[seq_ids == s]
            if np.unique(mine).size != mine.size or bool(np.isin(mine, self.pos[self._mask(int(s))]).any()):
                raise ContextError(f"find_slot: sequence {int(s)} already holds one of these positions")
        cells = self._pick_cells(n)
        self.pos[cells] = positions
        self.seqs[cells] = _ONE << seq_ids.astype(np.uint64)
        self.head = int(cells[-1]) + 1 if cells[-1] + 1 < self.n_cells else 0
        return cells

    def _pick_cells(self, n: int) -> np.ndarray:
        free = np.flatnonzero(self.pos < 0)
        if free.size < n:
            raise ContextError(f"KV cache full: {n} cells needed, {free.size} of {self.n_cells} free")
        if n == 1:
            after = free[free >= self.head]
            return np.array([after[0] if after.size else free[0]], dtype=np.int32)
        starts = np.flatnonzero(free[n - 1:] - free[:free.size - n + 1] == n - 1)
        if starts.size:
            at = starts[free[starts] >= self.head]
            first = int(free[at[0] if at.size else starts[0]])
            return np.arange(first, first + n, dtype=np.int32)
        # fragmented: any free cells, from head on first
        order = np.concatenate([free[free >= self.head], free[free < self.head]])
        return np.sort(order[:n]).astype(np.int32)

    def release(self, cells: np.ndarray) -> None:
        """Empty the given cells entirely (undo of a failed find_slot + decode)."""
        cells = np.asarray(cells, dtype=np.int64)
        self.pos[cells] = -1
        self.seqs[cells] = 0
        if cells.size:
            self.head = min(self.head, int(cells.min()))

    def _forget(self, mask: np.ndarray, seq: int | None) -> int:
        """Clear seq's bit (every bit if seq is None) in mask's cells; free cells left without
        owners. Returns how many cells became free."""
        if seq is None:
            self.seqs[mask] = 0
        else:
            self.seqs[mask] &= ~(_ONE << np.uint64(seq))
        freed = mask & (self.seqs == 0) & (self.pos >= 0)
        idx = np.flatnonzero(freed)
        self.pos[idx] = -1
        if idx.size:
            self.head = min(self.head, int(idx[0]))
        return int(idx.size)

    def seq_rm(self, seq: int, p0: int = 0, p1: int | None = None) -> int:
        """Forget positions p0 <= p < p1 (p1 None or < 0: to the end) of seq; seq -1: of every
        sequence. Returns the number of cells freed."""
        p0 = max(0, int(p0))
        if seq == -1:
            m = self.pos >= p0
            if p1 is not None and p1 >= 0:
                m &= self.pos < p1
            return self._forget(m, None)
        self._check_seq(seq)
        return self._forget(self._range_mask(seq, p0, p1), seq)

    def seq_cp(self, src: int, dst: int, p0: int = 0, p1: int | None = None) -> int:
        """dst also owns src's cells at p0 <= p < p1: no data moves. Returns the cell count."""
        self._check_seq(src)
        self._check_seq(dst)
        if src == dst:
            return 0
        m = self._range_mask(src, max(0, p0), p1)
        if np.isin(self.pos[m], self.pos[self._mask(dst)]).any():
            raise ContextError(f"seq_cp: sequence {dst} already holds positions being copied from {src}")
        self.seqs[m] |= _ONE << np.uint64(dst)
        return int(np.count_nonzero(m))

    def seq_keep(self, seq: int) -> None:
        """Every cell not owned by seq is freed; cells of seq lose their other owners."""
        self._check_seq(seq)
        m = self._mask(seq)
        self._forget(~m, None)
        self.seqs[m] = _ONE << np.uint64(seq)

    def seq_add(self, seq: int, p0: int, p1: int | None, delta: int) -> None:
        """Shift positions p0 <= p < p1 of seq by delta, re-rotating K. Cells pushed below
        position 0 are forgotten. Cells shared with other sequences are first copied so the
        others keep their positions (needs free cells)."""
        self._check_seq(seq)
        delta = int(delta)
        if delta == 0:
            return
        m = self._range_mask(seq, max(0, p0), p1)
        new = self.pos[m].astype(np.int64) + delta
        rest = self.pos[self._mask(seq) & ~m]
        survivors = new[new >= 0]
        if np.isin(survivors, rest).any():
            raise ContextError(f"seq_add: shifting sequence {seq} by {delta} collides with its other positions")
        cells = np.flatnonzero(m)
        gone = cells[new < 0]
        cells = cells[new >= 0]
        bit = _ONE << np.uint64(seq)
        shared = cells[(self.seqs[cells] & ~bit) != 0]
        if shared.size > self.n_free:
            raise ContextError(f"seq_add: {shared.size} shared cells need a private copy, "
                               f"{self.n_free} cells free")
        if gone.size:
            g = np.zeros(self.n_cells, bool)
            g[gone] = True
            self._forget(g, seq)
        if shared.size:
            dst = self._pick_cells(shared.size)
            self.ctx.kv_copy(shared.astype(np.int32), dst)
            self.pos[dst] = self.pos[shared]
            self.seqs[dst] = bit
            self.seqs[shared] &= ~bit
            cells = np.sort(np.concatenate([cells[(self.seqs[cells] & bit) != 0], dst]))
        if cells.size:
            self.ctx.kv_shift(cells.astype(np.int32), delta)
            self.pos[cells] += np.int32(delta)

    def defrag(self) -> int:
        """Move used cells from the back into the free cells at the front (kv_copy) until the
        used cells are 0..n_used-1. Returns the number of cells moved."""
        used = self.pos >= 0
        n_used = int(np.count_nonzero(used))
        holes = np.flatnonzero(~used[:n_used]).astype(np.int32)
        movers = (np.flatnonzero(used[n_used:]) + n_used).astype(np.int32)
        if holes.size:
            # every destination is free and every source lies past n_used: no overlap
            self.ctx.kv_copy(movers, holes)
            self.pos[holes] = self.pos[movers]
            self.seqs[holes] = self.seqs[movers]
            self.pos[movers] = -1
            self.seqs[movers] = 0
        self.head = n_used if n_used < self.n_cells else 0
        return int(holes.size)

    def release_swa(self, seq: int) -> int:
        """Forget seq's cells that no later token of it can see (every layer sliding-window).
        Returns the number of cells freed; 0 when some layer attends globally."""
        if not self.swa_window:
            return 0
        pmax = self.seq_pos_max(seq)
        if pmax < 0:
            return 0
        # the next token sits at pmax+1 and sees p > pmax + 1 - window
        return self.seq_rm(seq, 0, pmax + 2 - self.swa_window)

    def clear(self) -> None:
        self.ctx.clear()
        self.pos[:] = -1
        self.seqs[:] = 0
        self.head = 0

    # ---- checks --------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Raise ContextError if the metadata is inconsistent (for tests and debugging)."""
        empty = self.pos < 0
        if (self.seqs[empty] != 0).any():
            raise ContextError("an empty cell has owners")
        if (self.seqs[~empty] == 0).any():
            raise ContextError("a used cell has no owner")
        for s in range(self.n_seq_max):
            p = self.pos[self._mask(s)]
            if np.unique(p).size != p.size:
                raise ContextError(f"sequence {s} holds a position twice")
