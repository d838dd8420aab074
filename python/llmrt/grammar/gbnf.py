"""GBNF parser (llama.cpp's grammar format) -> a code-point level rule set.

    rules = parse_gbnf(text)      # RuleSet: names, alternatives of elements

Compatible with llama.cpp's parser: a rule ends at a newline unless inside parentheses or after
`::=` / `|`; names are [A-Za-z0-9_-]+; literals and classes take the escapes \\n \\t \\r \\\\ \\"
\\[ \\] \\/ \\xHH \\uHHHH \\UHHHHHHHH. Repetitions become right-recursive helper rules (as in
llama.cpp), so matching never grows the stack on `x*`.

Elements: ("cls", ((lo, hi), ...)) a set of code points (negation already applied), or
("ref", rule_id). An alternative is a list of elements; an empty list matches nothing (epsilon).
"""

from __future__ import annotations

import re

from ..errors import GrammarError

# Runs the parser consumes whole rather than character by character (compile time of large
# generated grammars is dominated by this loop).
_PLAIN_RUN = re.compile(r'[^"\\]+')
_WORD_RUN = re.compile(r"[A-Za-z0-9_-]+")

MAX_CP = 0x10FFFF
# Repetitions are expanded into copies of their body; this bounds the expanded grammar (elements
# over all rules), so that x{99999999999} is an error instead of all memory.
MAX_ELEMENTS = 1 << 20
MAX_COUNT_DIGITS = 9


class RuleSet:
    def __init__(self):
        self.names: list[str] = []
        self.alts: list[list[list[tuple]] | None] = []   # None = referenced, not defined (yet)
        self.index: dict[str, int] = {}
        self.first_ref: dict[int, int] = {}              # rule id -> source offset of a reference
        self.expanded = 0                                # elements repetitions have added

    def rule_id(self, name: str) -> int:
        rid = self.index.get(name)
        if rid is None:
            rid = len(self.names)
            self.index[name] = rid
            self.names.append(name)
            self.alts.append(None)
        return rid

    def new_aux(self, base: str, alts) -> int:
        n = len(self.names)
        rid = self.rule_id(f"{base}_{n}")
        self.alts[rid] = alts
        return rid


def _norm_ranges(ranges, negate: bool) -> tuple:
    rs = sorted((lo, hi) for lo, hi in ranges if lo <= hi)
    merged: list[list[int]] = []
    for lo, hi in rs:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    if negate:
        out, nxt = [], 0
        for lo, hi in merged:
            if lo > nxt:
                out.append((nxt, lo - 1))
            nxt = hi + 1
        if nxt <= MAX_CP:
            out.append((nxt, MAX_CP))
        return tuple(out)
    return tuple((lo, hi) for lo, hi in merged)


def char_el(cp: int) -> tuple:
    return ("cls", ((cp, cp),))


def _is_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "-_")


class _Parser:
    def __init__(self, text: str):
        self.src = text
        self.pos = 0
        self.rules = RuleSet()

    # ---- errors / positions ----------------------------------------------------------
    def where(self, pos: int) -> str:
        line = self.src.count("\n", 0, pos) + 1
        col = pos - (self.src.rfind("\n", 0, pos) + 1) + 1
        return f"line {line}:{col}"

    def fail(self, msg: str, pos: int | None = None):
        pos = self.pos if pos is None else pos
        got = self.src[pos:pos + 10]
        near = f" near {got!r}" if got else " at end of input"
        raise GrammarError(f"GBNF {self.where(pos)}: {msg}{near}")

    def peek(self, k: int = 0) -> str:
        p = self.pos + k
        return self.src[p] if p < len(self.src) else ""

    # ---- lexing ----------------------------------------------------------------------
    def skip_space(self, newline_ok: bool) -> None:
        s, n = self.src, len(self.src)
        while self.pos < n:
            c = s[self.pos]
            if c in " \t" or (newline_ok and c in "\r\n"):
                self.pos += 1
            elif c == "#":
                while self.pos < n and s[self.pos] not in "\r\n":
                    self.pos += 1
            else:
                break

    def name(self) -> str:
        m = _WORD_RUN.match(self.src, self.pos)
        if m is None:
            self.fail("expected a rule name")
        self.pos = m.end()
        return m.group()

    def hex(self, ndig: int) -> int:
        start = self.pos
        digits = self.src[start:start + ndig]
        if len(digits) != ndig or any(c not in "0123456789abcdefABCDEF" for c in digits):
            self.fail(f"expected {ndig} hex digits", start)
        self.pos += ndig
        cp = int(digits, 16)
        if cp > MAX_CP:
            self.fail(f"code point U+{cp:X} out of range", start)
        return cp

    def char(self) -> int:
        c = self.peek()
        if not c:
            self.fail("unexpected end of input")
        if c != "\\":
            self.pos += 1
            return ord(c)
        esc = self.peek(1)
        self.pos += 2
        if esc == "x":
            return self.hex(2)
        if esc == "u":
            return self.hex(4)
        if esc == "U":
            return self.hex(8)
        simple = {"n": 10, "t": 9, "r": 13, "\\": 92, '"': 34, "[": 91, "]": 93, "/": 47}
        if esc in simple:
            return simple[esc]
        self.fail(f"unknown escape '\\{esc}'", self.pos - 2)

    # ---- grammar ---------------------------------------------------------------------
    def parse(self) -> RuleSet:
        self.skip_space(True)
        while self.pos < len(self.src):
            self.rule()
            self.skip_space(True)
        r = self.rules
        if not r.names:
            raise GrammarError("GBNF: the grammar defines no rules")
        for rid, alts in enumerate(r.alts):
            if alts is None:
                self.fail(f"undefined rule '{r.names[rid]}'", r.first_ref.get(rid, 0))
        return r

    def rule(self) -> None:
        start = self.pos
        name = self.name()
        self.skip_space(False)
        if not self.src.startswith("::=", self.pos):
            self.fail("expected '::='")
        self.pos += 3
        self.skip_space(True)
        rid = self.rules.rule_id(name)
        if self.rules.alts[rid] is not None:
            self.fail(f"rule '{name}' is defined twice", start)
        self.rules.alts[rid] = []   # mark defined before the body (self references are fine)
        body = self.pos
        self.rules.alts[rid] = self.alternates(name, nested=False)
        if self.pos == body:
            self.fail(f"rule '{name}' has an empty body (write \"\" to match the empty string)", start)
        self.skip_space(False)
        c = self.peek()
        if c == "\r":
            self.pos += 1
            c = self.peek()
        if c == "\n":
            self.pos += 1
        elif c:
            self.fail("expected newline or end of rule")

    def alternates(self, name: str, nested: bool) -> list:
        alts = [self.sequence(name, nested)]
        while self.peek() == "|":
            self.pos += 1
            self.skip_space(True)
            alts.append(self.sequence(name, nested))
        return alts

    def sequence(self, name: str, nested: bool) -> list:
        seq: list[tuple] = []
        last_start = None   # where the last symbol begins in seq (what a repetition repeats)
        while True:
            c = self.peek()
            if c == '"':
                self.pos += 1
                last_start = len(seq)
                while self.peek() != '"':
                    if not self.peek():
                        self.fail("unterminated string literal")
                    m = _PLAIN_RUN.match(self.src, self.pos)
                    if m is None:
                        seq.append(char_el(self.char()))
                        continue
                    seq.extend(char_el(ord(ch)) for ch in m.group())
                    self.pos = m.end()
                self.pos += 1
            elif c == "[":
                self.pos += 1
                last_start = len(seq)
                seq.append(self.char_class())
            elif c == ".":
                self.pos += 1
                last_start = len(seq)
                seq.append(("cls", ((0, MAX_CP),)))
            elif c and _is_word(c):
                pos = self.pos
                ref = self.rules.rule_id(self.name())
                self.rules.first_ref.setdefault(ref, pos)
                last_start = len(seq)
                seq.append(("ref", ref))
            elif c == "(":
                self.pos += 1
                self.skip_space(True)
                alts = self.alternates(name, nested=True)
                if self.peek() != ")":
                    self.fail("expected ')'")
                self.pos += 1
                last_start = len(seq)
                seq.append(("ref", self.rules.new_aux(name, alts)))
            elif c in ("*", "+", "?", "{"):
                if last_start is None:
                    self.fail(f"'{c}' must follow a symbol")
                self.repetition(name, seq, last_start)
            elif c == "<":
                self.fail("token references <...> are not supported")
            else:
                break
            self.skip_space(nested)
        return seq

    def char_class(self) -> tuple:
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        ranges = []
        while self.peek() != "]":
            if not self.peek():
                self.fail("unterminated character class")
            lo = self.char()
            hi = lo
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                hi = self.char()
                if hi < lo:
                    self.fail("character range is reversed", self.pos - 1)
            ranges.append((lo, hi))
        self.pos += 1
        return ("cls", _norm_ranges(ranges, negate))

    def repetition(self, name: str, seq: list, last_start: int) -> None:
        c = self.peek()
        self.pos += 1
        if c == "*":
            lo, hi = 0, None
        elif c == "+":
            lo, hi = 1, None
        elif c == "?":
            lo, hi = 0, 1
        else:
            self.skip_space(True)
            lo = self.integer()
            hi = lo
            self.skip_space(True)
            if self.peek() == ",":
                self.pos += 1
                self.skip_space(True)
                hi = self.integer() if self.peek().isdigit() else None
                self.skip_space(True)
            if self.peek() != "}":
                self.fail("expected '}'")
            self.pos += 1
            if hi is not None and hi < lo:
                self.fail("repetition {m,n} with n < m", self.pos - 1)
        body = seq[last_start:]
        cost = len(body) * (lo + 1 if hi is None else max(hi, 1))
        self.rules.expanded += cost
        if self.rules.expanded > MAX_ELEMENTS:
            self.fail(f"repetitions expand the grammar past {MAX_ELEMENTS} elements", self.pos - 1)
        del seq[last_start:]
        seq.extend(repeat(self.rules, name, body, lo, hi))

    def integer(self) -> int:
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        if start == self.pos:
            self.fail("expected an integer")
        if self.pos - start > MAX_COUNT_DIGITS:
            self.fail(f"repetition count has more than {MAX_COUNT_DIGITS} digits", start)
        return int(self.src[start:self.pos])


def repeat(rules: RuleSet, name: str, body: list, lo: int, hi: int | None) -> list:
    """Elements matching `body` lo..hi times (hi None = unbounded), via right-recursive rules."""
    out = body * lo
    if hi is None:
        star = rules.new_aux(name, None)
        rules.alts[star] = [body + [("ref", star)], []]
        out.append(("ref", star))
    elif hi > lo:
        opt = rules.new_aux(name, [body, []])
        for _ in range(hi - lo - 1):
            opt = rules.new_aux(name, [body + [("ref", opt)], []])
        out.append(("ref", opt))
    return out


def parse_gbnf(text: str) -> RuleSet:
    if not isinstance(text, str):
        raise GrammarError(f"GBNF grammar must be str, got {type(text).__name__}")
    return _Parser(text).parse()
