"""The merge loop SentencePiece and byte-level BPE share: symbols in a doubly linked list, a
heap of candidate pairs ordered by priority (score or merge rank), merged best-first."""

from __future__ import annotations

import heapq
from typing import Callable


def merge_queued_pairs(heap: list, syms: list[str], prev: list[int], nxt: list[int],
                       push: Callable[[int, int], None]) -> None:
    """Pop (priority, left, right, joined) entries and merge them in place; a merged symbol
    leaves "" behind. `push(left, right)` queues the pair a merge newly makes adjacent."""
    while heap:
        _, left, right, joined = heapq.heappop(heap)
        a, b = syms[left], syms[right]
        if not a or not b or a + b != joined:
            continue  # outdated: one side has merged since this pair was queued
        syms[left] = joined
        syms[right] = ""
        nxt[left] = nxt[right]
        if nxt[right] >= 0:
            prev[nxt[right]] = left
        push(prev[left], left)
        push(left, nxt[left])
