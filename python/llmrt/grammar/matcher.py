"""Token masks from a byte-level pushdown automaton.

StackMachine: llama.cpp's grammar stacks (a stack = tuple of program positions, top last, top
always a byte-set element; the empty stack means "the grammar may end here"). A *state* is the
set of live stacks, interned to a small integer; state 0 is dead. Transitions state x byte ->
state are computed lazily in Python and stored in a dense int32 table, so the machine becomes
a lazily built DFA over exactly the states generation visits.

TokenIndex: the vocabulary as a byte trie (trie.VocabTrie). A walk is vectorised per level: the
states of the live nodes at depth k are one gather from the transition table indexed by (state
of parent, byte); dead subtrees are dropped.

MaskCache: XGrammar's split of the vocabulary. Tokens are classified per *stack suffix* (the
top SUFFIX_LEN elements of a stack: the grammar position and a little of what encloses it) by
walking the trie from that suffix alone: accepted (some path reads the whole token without
leaving the suffix; then it is accepted whatever lies below), rejected (every path dies inside
the suffix), or context-dependent (a path leaves the suffix before the token ends). A state's
mask is the union of its suffixes' accepted sets plus a walk from the full state restricted to
the subtrees holding their context-dependent tokens. Suffix classes are cached per suffix, so a
state never seen before (a new nesting depth) costs only that restricted walk. Finished masks
are cached per state: generation revisits the same few states constantly.

GrammarMatcher: per-sequence state on top of both.
"""

from __future__ import annotations

import threading

import weakref

import numpy as np

from ..errors import GrammarError
from .program import BYTES, END, Program
from .trie import VocabTrie

# Stack elements a token is classified against. Longer suffixes leave fewer context-dependent
# tokens but are shared by fewer states; a suffix is classified by refining its one-shorter
# suffix, so length costs little. 6 was fastest on the JSON benchmarks (tools/bench_grammar.py).
SUFFIX_LEN = 6


class StackMachine:
    def __init__(self, prog: Program):
        self.prog = prog
        self._kind = prog.kind
        self._arg = prog.arg
        self._alts = prog.rule_alts
        self.stacks: list[frozenset] = [frozenset()]
        self._ids: dict[frozenset, int] = {frozenset(): 0}
        self.accepting: list[bool] = [False]
        self.has_cont: list[bool] = [False]
        self.table = np.full((64, 256), -1, np.int32)   # (state capacity, byte) -> state, -1 unknown
        # Matchers of one grammar share this machine across threads: new states are made under
        # the lock (two threads must not give one stack set two ids); known transitions are read
        # without it (a table entry is written once, after its state exists).
        self._lock = threading.RLock()
        self.table[0, :] = 0
        self.accepting_np = np.zeros(64, bool)          # (state capacity,) = accepting
        init: set = set()
        for a in self._alts[prog.root]:
            self._expand((a,) if self._kind[a] != END else (), init)
        self.initial = self._intern(frozenset(init))

    def _expand(self, stack: tuple, out: set) -> None:
        """Add the stacks reachable from `stack` without reading a byte (top = byte set)."""
        if not stack:
            out.add(stack)
            return
        p = stack[-1]
        if self._kind[p] == BYTES:
            out.add(stack)
            return
        rest = stack[:-1]
        if self._kind[p + 1] != END:     # tail position needs no return address
            rest = rest + (p + 1,)
        for a in self._alts[self._arg[p]]:
            self._expand(rest + (a,) if self._kind[a] != END else rest, out)

    def _intern(self, stacks: frozenset) -> int:
        sid = self._ids.get(stacks)
        if sid is not None:
            return sid
        with self._lock:
            return self._intern_locked(stacks)

    def _intern_locked(self, stacks: frozenset) -> int:
        sid = self._ids.get(stacks)
        if sid is not None:
            return sid
        sid = len(self.stacks)
        self.stacks.append(stacks)
        self.accepting.append(() in stacks)
        self.has_cont.append(any(stacks))
        if sid >= self.table.shape[0]:
            grown = np.full((2 * self.table.shape[0], 256), -1, np.int32)
            grown[: self.table.shape[0]] = self.table
            self.table = grown
            self.accepting_np = np.resize(self.accepting_np, 2 * len(self.accepting_np))
        self.accepting_np[sid] = () in stacks
        self._ids[stacks] = sid   # published last: a reader without the lock sees a whole state
        return sid

    def state_of(self, stacks) -> int:
        """The state whose live stacks are exactly `stacks` (each topped by a byte set)."""
        return self._intern(frozenset(stacks))

    def step(self, sid: int, byte: int) -> int:
        nxt = int(self.table[sid, byte])
        if nxt >= 0:
            return nxt
        with self._lock:
            return self._step_locked(sid, byte)

    def _step_locked(self, sid: int, byte: int) -> int:
        nxt = int(self.table[sid, byte])
        if nxt >= 0:
            return nxt
        out: set = set()
        kind, arg = self._kind, self._arg
        for st in self.stacks[sid]:
            if not st:
                continue
            p = st[-1]
            if (arg[p] >> byte) & 1:
                rest = st[:-1]
                self._expand(rest + (p + 1,) if kind[p + 1] != END else rest, out)
        nxt = self._intern(frozenset(out))
        self.table[sid, byte] = nxt
        return nxt

    def walk(self, sid: int, data: bytes) -> int:
        for b in data:
            if sid == 0:
                return 0
            sid = self.step(sid, b)
        return sid

    def fill(self, keys: np.ndarray) -> None:
        for key in np.unique(keys).tolist():
            self.step(key >> 8, key & 255)


class TokenIndex:
    """The vocabulary's candidate tokens as a level-wise byte trie. Built once per tokenizer."""

    def __init__(self, tokenizer):
        n = tokenizer.n_vocab
        self.n_vocab = n
        self.eog_ids = np.array(sorted(tokenizer.eog_ids), np.int64)
        eog = set(self.eog_ids.tolist())
        self.pieces: list[bytes | None] = [None] * n
        cand = []
        for tid in range(n):
            if tid in eog or tokenizer.is_control(tid):
                continue
            piece = tokenizer.token_to_piece(tid, special=False)
            if not piece or piece[0] == 0:     # llama.cpp rejects empty and NUL-led pieces too
                continue
            self.pieces[tid] = piece
            cand.append(tid)
        self.trie = VocabTrie(cand, [self.pieces[t] for t in cand])
        self.candidates = np.array(cand, np.int64)


_INDEXES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def token_index(tokenizer) -> TokenIndex:
    idx = _INDEXES.get(tokenizer)
    if idx is None:
        idx = TokenIndex(tokenizer)
        _INDEXES[tokenizer] = idx
    return idx


class MaskCache:
    """Masks per state for one (grammar, tokenizer); bounded in bytes, cleared when full."""

    def __init__(self, sm: StackMachine, index: TokenIndex, max_bytes: int = 256 << 20,
                 suffix_len: int = SUFFIX_LEN):
        self.sm, self.index, self.trie = sm, index, index.trie
        self.suffix_len = suffix_len
        self.masks: dict[int, np.ndarray] = {}
        self.max_masks = max(16, max_bytes // max(1, index.n_vocab))
        self._suffix: dict[tuple, tuple] = {}     # suffix -> packed (accepted, context-dependent)
        self.max_suffixes = max(256, max_bytes // max(1, index.trie.n // 4))
        self._split: dict[frozenset, tuple] = {}  # suffixes of a state -> (accepted, want)
        self.hits = self.misses = 0

    def mask(self, sid: int) -> np.ndarray:
        m = self.masks.get(sid)
        if m is not None:
            self.hits += 1
            return m
        self.misses += 1
        m = np.zeros(self.index.n_vocab, bool)
        if sid:
            accepted, want = self._split_of(sid)
            if want is not None:
                accepted = accepted | self.trie.walk(self.sm, sid, want=want)[0]
            m[self.trie.tids[accepted]] = True
            if self.sm.accepting[sid]:
                m[self.index.eog_ids] = True
        m.flags.writeable = False
        if len(self.masks) >= self.max_masks:
            self.masks.clear()
        self.masks[sid] = m
        return m

    def _split_of(self, sid: int) -> tuple:
        """(accepted, want) over the trie's sorted order for state sid: the tokens accepted
        whatever lies below the stack suffixes, and prefix sums of the context-dependent ones
        (None when there are none)."""
        k = self.suffix_len
        keys = frozenset(st[-k:] for st in self.sm.stacks[sid] if st)
        got = self._split.get(keys)
        if got is not None:
            return got
        n = self.trie.n
        acc = np.zeros((n + 7) // 8, np.uint8)
        dep = np.zeros_like(acc)
        for key in keys:
            a, d = self._classify(key)
            acc |= a
            dep |= d
        accepted = np.unpackbits(acc, count=n).view(bool)
        dependent = np.unpackbits(dep, count=n).view(bool) & ~accepted
        want = None
        if dependent.any():
            want = np.zeros(n + 1, np.int32)
            np.cumsum(dependent, out=want[1:])
        if len(self._split) >= 4096:
            self._split.clear()
        got = self._split[keys] = (accepted, want)
        return got

    def _classify(self, suffix: tuple) -> tuple:
        """Packed (accepted, context-dependent) for a stack suffix. A longer suffix only
        refines its one-shorter suffix: what that accepts or rejects stays so, and only its
        context-dependent tokens are walked again."""
        got = self._suffix.get(suffix)
        if got is not None:
            return got
        sid = self.sm.state_of([suffix])
        n = self.trie.n
        if len(suffix) == 1:
            accepted, exits = self.trie.walk(self.sm, sid, track_exit=True)
            got = (np.packbits(accepted), np.packbits(exits))
        else:
            acc, dep = self._classify(suffix[1:])
            dependent = np.unpackbits(dep, count=n).view(bool)
            if dependent.any():
                want = np.zeros(n + 1, np.int32)
                np.cumsum(dependent, out=want[1:])
                accepted, exits = self.trie.walk(self.sm, sid, want=want, track_exit=True)
                got = (acc | np.packbits(accepted & dependent),
                       np.packbits(exits & dependent & ~accepted))
            else:
                got = (acc, dep)
        if len(self._suffix) >= self.max_suffixes:
            self._suffix.clear()
        self._suffix[suffix] = got
        return got


class GrammarMatcher:
    """One sequence's position in a grammar. Not thread-safe; clone() per sequence."""

    def __init__(self, cache: MaskCache):
        self._cache = cache
        self._sm = cache.sm
        self._index = cache.index
        self._eog = frozenset(cache.index.eog_ids.tolist())
        self.reset()

    def reset(self) -> None:
        self._state = self._sm.initial
        self._done = False

    def clone(self) -> "GrammarMatcher":
        m = GrammarMatcher.__new__(GrammarMatcher)
        m.__dict__.update(self.__dict__)
        return m

    @property
    def state(self) -> int:
        return self._state

    def allowed_mask(self) -> np.ndarray:
        """(n_vocab,) bool, read-only (shared with other matchers in the same state)."""
        if self._done:
            m = np.zeros(self._index.n_vocab, bool)
            m[self._index.eog_ids] = True
            return m
        return self._cache.mask(self._state)

    def is_allowed(self, token_id: int) -> bool:
        """Fast path: whether one token may come next, without building the mask."""
        return self._next(token_id) is not None

    def _next(self, token_id: int):
        if self._done:
            return None
        if token_id in self._eog:
            return -1 if self._sm.accepting[self._state] else None
        if not 0 <= token_id < self._index.n_vocab:
            return None
        piece = self._index.pieces[token_id]
        if piece is None:
            return None
        nxt = self._sm.walk(self._state, piece)
        return nxt if nxt else None

    def accept(self, token_id: int) -> None:
        nxt = self._next(int(token_id))
        if nxt is None:
            raise GrammarError(f"token {token_id} is not allowed by the grammar here")
        if nxt == -1:
            self._done = True
        else:
            self._state = nxt

    def accept_bytes(self, data: bytes) -> bool:
        """Advance over raw bytes; False (state unchanged) if the grammar rejects them."""
        nxt = self._sm.walk(self._state, data)
        if not nxt:
            return False
        self._state = nxt
        return True

    def can_end(self) -> bool:
        return self._done or self._sm.accepting[self._state]

    def is_finished(self) -> bool:
        return self._done or not self._sm.has_cont[self._state]
