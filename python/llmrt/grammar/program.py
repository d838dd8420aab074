"""A RuleSet (code points) -> a byte-level Program the matcher runs.

Every character class becomes UTF-8 byte ranges: an ASCII-only class is one byte-set element,
others a helper rule whose alternatives are byte-range sequences (Rust regex-syntax's
utf8-ranges split). Tokens cut inside a UTF-8 character therefore need no special handling:
the matcher simply stops between two bytes of one character.

Alternatives that can never finish are dropped, so every prefix the program accepts can be
completed. Flat layout (llama.cpp's): `kind[p]`, `arg[p]` for positions p; each alternative is a run of
elements closed by an END. kind BYTES: arg is an int bitmask over the 256 byte values;
kind REF: arg is a rule id.
"""

from __future__ import annotations

from ..errors import GrammarError
from .gbnf import RuleSet

END, BYTES, REF = 0, 1, 2


def _utf8_len(cp: int) -> int:
    return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4


def _encode(cp: int, n: int) -> list[int]:
    if n == 1:
        return [cp]
    lead = {2: 0xC0, 3: 0xE0, 4: 0xF0}[n]
    out = []
    for _ in range(n - 1):
        out.append(0x80 | (cp & 0x3F))
        cp >>= 6
    out.append(lead | cp)
    return out[::-1]


def utf8_sequences(lo: int, hi: int) -> list[list[tuple[int, int]]]:
    """Byte-range sequences whose union encodes exactly code points lo..hi."""
    out: list[list[tuple[int, int]]] = []
    todo = [(lo, hi)]
    while todo:
        lo, hi = todo.pop()
        split = False
        for limit in (0x7F, 0x7FF, 0xFFFF):
            if lo <= limit < hi:
                todo += [(limit + 1, hi), (lo, limit)]
                split = True
                break
        if split:
            continue
        n = _utf8_len(lo)
        for i in range(1, n):
            m = (1 << (6 * i)) - 1
            if lo & ~m != hi & ~m:
                if lo & m:
                    todo += [((lo | m) + 1, hi), (lo, lo | m)]
                    split = True
                    break
                if hi & m != m:
                    todo += [(hi & ~m, hi), (lo, (hi & ~m) - 1)]
                    split = True
                    break
        if split:
            continue
        a, b = _encode(lo, n), _encode(hi, n)
        out.append(list(zip(a, b)))
    return out


def _mask(lo: int, hi: int) -> int:
    return ((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1)


class Program:
    """kind/arg arrays, rule start positions, and which positions can end the grammar."""

    def __init__(self, rules: RuleSet, root: str):
        if root not in rules.index:
            raise GrammarError(f"grammar has no rule named '{root}' (the start rule)")
        self.names = list(rules.names)
        self.kind: list[int] = []
        self.arg: list[int] = []
        self.rule_alts: list[list[int]] = []
        self._cls_rules: dict[tuple, int] = {}
        self._extra_alts: list = []
        n_user = len(rules.names)
        pending = [None] * n_user
        for rid in range(n_user):
            pending[rid] = [[self._element(el) for el in alt] for alt in rules.alts[rid]]
        self.rule_alts = [[] for _ in self.names]
        rules_alts = pending + self._extra_alts
        for rid, alts in enumerate(rules_alts):
            self._emit(rid, alts)
        self.root = rules.index[root]
        check_left_recursion(self)
        self.kind, self.arg = [], []
        for rid, alts in enumerate(_productive(rules_alts)):
            self._emit(rid, alts)

    def _element(self, el) -> tuple:
        if el[0] == "ref":
            return (REF, el[1])
        ranges = el[1]
        if not ranges:
            return (BYTES, 0)        # an empty class matches nothing
        if ranges[-1][1] < 0x80:
            m = 0
            for lo, hi in ranges:
                m |= _mask(lo, hi)
            return (BYTES, m)
        rid = self._cls_rules.get(ranges)
        if rid is None:
            rid = len(self.names)
            self.names.append(f"char-class-{rid}")
            self._cls_rules[ranges] = rid
            alts = []
            ascii_mask = 0
            for lo, hi in ranges:
                for seq in utf8_sequences(lo, hi):
                    if len(seq) == 1:
                        ascii_mask |= _mask(*seq[0])
                    else:
                        alts.append([(BYTES, _mask(a, b)) for a, b in seq])
            if ascii_mask:
                alts.insert(0, [(BYTES, ascii_mask)])
            self._extra_alts.append(alts)
        return (REF, rid)

    def _emit(self, rid: int, alts) -> None:
        starts = []
        for alt in alts:
            starts.append(len(self.kind))
            for k, a in alt:
                self.kind.append(k)
                self.arg.append(a)
            self.kind.append(END)
            self.arg.append(0)
        self.rule_alts[rid] = starts


def _productive(rules: list) -> list:
    """The rules without alternatives that can never finish (an empty byte set, or a rule that
    derives no byte string): what they would accept is unchanged, but a matcher no longer
    enters a prefix that cannot be completed."""
    ok = [False] * len(rules)
    users: list[list] = [[] for _ in rules]      # rule -> alternatives (rid, j) that use it
    need: dict = {}                              # (rid, j) -> referenced rules not yet ok
    queue = []
    for rid, alts in enumerate(rules):           # a worklist: each reference counted once
        for j, alt in enumerate(alts):
            if any(k == BYTES and a == 0 for k, a in alt):
                continue
            refs = {a for k, a in alt if k != BYTES}
            need[rid, j] = len(refs)
            for r in refs:
                users[r].append((rid, j))
            if not refs and not ok[rid]:
                ok[rid] = True
                queue.append(rid)
    while queue:
        for rid, j in users[queue.pop()]:
            need[rid, j] -= 1
            if not need[rid, j] and not ok[rid]:
                ok[rid] = True
                queue.append(rid)

    def alive(alt) -> bool:
        return all(a != 0 if k == BYTES else ok[a] for k, a in alt)
    return [[alt for alt in alts if alive(alt)] for alts in rules]


def check_left_recursion(prog: Program) -> None:
    """Left recursion (a rule reaching itself before consuming a byte) would make expansion
    loop; llama.cpp rejects it too."""
    n = len(prog.names)
    nullable = [False] * n
    changed = True
    while changed:
        changed = False
        for rid in range(n):
            if nullable[rid]:
                continue
            for p in prog.rule_alts[rid]:
                while prog.kind[p] == REF and nullable[prog.arg[p]]:
                    p += 1
                if prog.kind[p] == END:
                    nullable[rid] = changed = True
                    break
    left: list[set[int]] = [set() for _ in range(n)]
    for rid in range(n):
        for p in prog.rule_alts[rid]:
            while prog.kind[p] == REF:
                left[rid].add(prog.arg[p])
                if not nullable[prog.arg[p]]:
                    break
                p += 1
    state = [0] * n      # 0 new, 1 on path, 2 done

    def visit(r: int, path: list[int]):
        state[r] = 1
        path.append(r)
        for s in left[r]:
            if state[s] == 1:
                cyc = path[path.index(s):] + [s]
                raise GrammarError("left recursion in rule '" + prog.names[s] + "': "
                                   + " -> ".join(prog.names[x] for x in cyc))
            if state[s] == 0:
                visit(s, path)
        path.pop()
        state[r] = 2

    import sys
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * n + 1000))
    try:
        for r in range(n):
            if state[r] == 0:
                visit(r, [])
    finally:
        sys.setrecursionlimit(old)
