"""The vocabulary as a byte trie, walked level by level against the grammar's automaton.

Tokens are sorted by their bytes, so every trie node stands for a contiguous range [lo, hi) of
that order (the tokens it is a prefix of), and the tokens that end exactly at the node come
first in its range. A set of tokens is therefore a bool array over the sorted order, a subtree
is one range, and "does this subtree hold a token I care about" is one difference of prefix
sums. The children of a node are a contiguous range of the next level, so a walk touches only
the children of live nodes: dead subtrees and uninteresting subtrees cost nothing.
"""

from __future__ import annotations

import numpy as np


class _Level:
    """Nodes at one depth k (prefixes of k + 1 bytes), in sorted order."""
    __slots__ = ("byte", "lo", "hi", "n_end", "child_lo", "child_hi")

    def __init__(self, byte, lo, hi, n_end):
        self.byte = byte      # (n_nodes,) int64: the node's last byte
        self.lo = lo          # (n_nodes,) int64: first sorted token of the subtree
        self.hi = hi          # (n_nodes,) int64: one past the last
        self.n_end = n_end    # (n_nodes,) int64: how many tokens end here (they come first)
        self.child_lo = self.child_hi = None   # (n_nodes,) int64: child range in the next level


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for each (s, c)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shift = starts - (np.cumsum(counts) - counts)
    return np.repeat(shift, counts) + np.arange(total, dtype=np.int64)


def _cover(n: int, lo: list, hi: list) -> np.ndarray:
    """(n,) bool: the union of the ranges [lo[i], hi[i])."""
    out = np.zeros(n, bool)
    if lo:
        lo = np.concatenate(lo)
        out[_ranges(lo, np.concatenate(hi) - lo)] = True
    return out


class VocabTrie:
    def __init__(self, tids: list[int], pieces: list[bytes]):
        order = sorted(range(len(tids)), key=pieces.__getitem__)
        self.tids = np.array([tids[i] for i in order], np.int64)   # sorted position -> token id
        sp = [pieces[i] for i in order]
        n = self.n = len(sp)
        lens = np.fromiter(map(len, sp), np.int64, n)
        offs = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=offs[1:])
        buf = np.frombuffer(b"".join(sp), np.uint8)
        self.levels: list[_Level] = []
        rows, node = np.arange(n, dtype=np.int64), np.zeros(n, np.int64)
        self.root_lo = self.root_hi = np.zeros(1, np.int64)
        prev = None
        for k in range(int(lens.max()) if n else 0):
            keep = lens[rows] > k
            rows, par = rows[keep], node[keep]
            b = buf[offs[rows] + k].astype(np.int64)
            new = np.ones(len(rows), bool)
            new[1:] = (par[1:] != par[:-1]) | (b[1:] != b[:-1])
            first = np.flatnonzero(new)
            last = np.append(first[1:], len(rows)) - 1
            ends = (lens[rows] == k + 1).astype(np.int64)
            lv = _Level(b[first], rows[first], rows[last] + 1, np.add.reduceat(ends, first))
            node_par = par[first]
            n_prev = 1 if prev is None else len(prev.byte)
            c_lo = np.searchsorted(node_par, np.arange(n_prev), "left")
            c_hi = np.searchsorted(node_par, np.arange(n_prev), "right")
            if prev is None:
                self.root_lo, self.root_hi = c_lo, c_hi
            else:
                prev.child_lo, prev.child_hi = c_lo, c_hi
            self.levels.append(lv)
            node = np.cumsum(new) - 1
            prev = lv
        if prev is not None:
            prev.child_lo = prev.child_hi = np.zeros(len(prev.byte), np.int64)
        self.n_nodes = sum(len(lv.byte) for lv in self.levels)

    def walk(self, sm, sid: int, want: np.ndarray | None = None, track_exit: bool = False):
        """Walk every token from state `sid` of StackMachine `sm`.

        Returns (accepted, exits), bool arrays over the sorted order: accepted[i] when the
        state after the whole token is live. With track_exit, exits[i] when the token is not
        accepted but some path reached the empty stack (`sid` accepting) strictly inside it,
        i.e. went on reading from below the stacks of `sid`. With `want` (prefix sums, (n+1,),
        of a bool array over the sorted order), only subtrees holding a wanted token are
        walked: tokens outside them come back False.
        """
        n = self.n
        acc_lo, acc_hi, ex_lo, ex_hi = [], [], [], []
        live = np.zeros(1, np.int64)
        st = np.array([sid], np.int64)
        pre = np.zeros(1, bool)
        c_lo, c_hi = self.root_lo, self.root_hi
        accepting = sm.accepting_np
        for depth, lv in enumerate(self.levels):
            start = c_lo[live]
            cnt = c_hi[live] - start
            c = _ranges(start, cnt)
            pi = np.repeat(np.arange(len(live)), cnt)
            if want is not None:
                keep = want[lv.hi[c]] > want[lv.lo[c]]
                c, pi = c[keep], pi[keep]
            if not len(c):
                break
            ps = st[pi]
            key = ps * 256 + lv.byte[c]
            nxt = sm.table.ravel()[key]
            unknown = nxt < 0
            if unknown.any():
                sm.fill(key[unknown])
                nxt = sm.table.ravel()[key]
            # read after the table: states another thread made meanwhile are in the newer array
            accepting = sm.accepting_np
            alive = nxt != 0
            if track_exit:
                # exits strictly inside: the parent's state counts from one byte on
                pc = (pre[pi] | accepting[ps]) if depth else pre[pi]
                dead = c[~alive & pc]
                ex_lo.append(lv.lo[dead])
                ex_hi.append(lv.hi[dead])
                pre = pc[alive]
            c = c[alive]
            ne = lv.n_end[c]
            e = ne > 0
            acc_lo.append(lv.lo[c[e]])
            acc_hi.append(lv.lo[c[e]] + ne[e])
            live, st = c, nxt[alive].astype(np.int64)
            c_lo, c_hi = lv.child_lo, lv.child_hi
            if not len(live):
                break
        accepted = _cover(n, acc_lo, acc_hi)
        exits = (_cover(n, ex_lo, ex_hi) & ~accepted) if track_exit else None
        return accepted, exits
