"""A regular-expression subset -> GBNF expression.

Supported: literals, escapes (\\d \\w \\s \\D \\W \\S, \\n \\t \\r \\f \\v, \\uHHHH, escaped
punctuation), classes [...] with ranges and negation, `.` (anything but newline, as Python's
re), groups (...), (?:...) and (?<name>...), `|`, quantifiers * + ? {m} {m,} {m,n} (lazy `?`
accepted; it does not change the language), `^` at the start and `$` at the end. Anything else
(lookaround, backreferences, word boundaries, flags) raises GrammarError naming it.

In JSON mode the expression matches the *JSON-encoded* content of a string: a `"` in the
pattern matches `\\"`, control characters match their escapes, and the pattern is searched, not
anchored, unless it starts with ^ / ends with $ (JSON Schema uses ECMA-262 search semantics).
There `.` excludes all of ECMA-262's line terminators and `\\s` is ECMA-262's white space.
"""

from __future__ import annotations

import json

from ..errors import GrammarError
from .gbnf import MAX_CP, _norm_ranges

_DIGIT = ((48, 57),)
_WORD = ((48, 57), (65, 90), (95, 95), (97, 122))
_SPACE = ((9, 13), (32, 32))
# ECMA-262's \s (JSON mode): also the Unicode spaces and line terminators
_ECMA_SPACE = ((9, 13), (32, 32), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
               (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
               (0xFEFF, 0xFEFF))
_ECMA_NEWLINES = ((10, 10), (13, 13), (0x2028, 0x2029))
_PLAIN_JSON = _norm_ranges([(0, 0x1F), (0x22, 0x22), (0x5C, 0x5C), (0x7F, 0x7F)], negate=True)


def _intersect(a, b) -> tuple:
    out = []
    for lo, hi in a:
        for lo2, hi2 in b:
            x, y = max(lo, lo2), min(hi, hi2)
            if x <= y:
                out.append((x, y))
    return _norm_ranges(out, False)


def _cp(c: int) -> str:
    return f"\\x{c:02X}" if c < 0x100 else f"\\u{c:04X}" if c < 0x10000 else f"\\U{c:08X}"


def _class_text(ranges) -> str:
    return "[" + "".join(_cp(lo) if lo == hi else f"{_cp(lo)}-{_cp(hi)}" for lo, hi in ranges) + "]"


def _lit(s: str) -> str:
    return '"' + "".join(_cp(ord(c)) if not c.isalnum() else c for c in s) + '"'


class _RegexParser:
    def __init__(self, pattern: str, json_mode: bool):
        self.p = pattern
        self.i = 0
        self.json = json_mode

    def fail(self, msg: str):
        raise GrammarError(f"regex {self.p!r} at {self.i}: {msg}")

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    # ---- output helpers ----------------------------------------------------------------
    def chars(self, ranges) -> str:
        """GBNF for one character of `ranges`."""
        if not self.json:
            return _class_text(ranges) if ranges else "[^\\x00-\\U0010FFFF]"
        alts = []
        plain = _intersect(ranges, _PLAIN_JSON)
        if plain:
            alts.append(_class_text(plain))
        for lo, hi in ranges:
            for c in range(lo, min(hi, 0x7F) + 1):
                if c < 0x20 or c in (0x22, 0x5C):
                    alts.append(_lit(json.dumps(chr(c))[1:-1]))
        if not alts:
            self.fail("a character class matches no JSON-encodable character")
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"

    # ---- grammar -----------------------------------------------------------------------
    def parse(self) -> str:
        start_anchor = self.peek() == "^"
        if start_anchor:
            self.i += 1
        body = self.alternation()
        end_anchor = False
        if self.peek() == "$":
            self.i += 1
            end_anchor = True
        if self.i != len(self.p):
            self.fail(f"unexpected {self.peek()!r}")
        if not self.json:
            return body
        anyc = "char*"
        return " ".join(x for x in (
            "" if start_anchor else anyc, f"({body})", "" if end_anchor else anyc) if x)

    def alternation(self) -> str:
        alts = [self.concat()]
        while self.peek() == "|":
            self.i += 1
            alts.append(self.concat())
        return " | ".join(a or '""' for a in alts)

    def concat(self) -> str:
        parts = []
        while self.peek() and self.peek() not in "|)":
            if self.peek() == "$" and self.i == len(self.p) - 1:
                break
            atom = self.atom()
            parts.append(self.quantifier(atom))
        return " ".join(parts)

    def quantifier(self, atom: str) -> str:
        c = self.peek()
        if c in ("*", "+", "?"):
            self.i += 1
            q = c
        elif c == "{" and self._is_counted():
            j = self.p.index("}", self.i)
            spec = self.p[self.i + 1:j]
            self.i = j + 1
            q = "{" + spec + "}"
        else:
            return atom
        if self.peek() == "?":       # lazy: same language
            self.i += 1
        if self.peek() in ("*", "+", "?") and self.peek():
            self.fail("possessive or stacked quantifiers are not supported")
        return f"({atom}){q}"

    def _is_counted(self) -> bool:
        j = self.p.find("}", self.i)
        if j < 0:
            return False
        spec = self.p[self.i + 1:j]
        a, _, b = spec.partition(",")
        return a.isdigit() and (b == "" or b.isdigit())

    def atom(self) -> str:
        c = self.peek()
        if c == "(":
            self.i += 1
            if self.p.startswith("?:", self.i):
                self.i += 2
            elif self.p.startswith("?<", self.i) and self.p[self.i + 2:self.i + 3] not in ("=", "!", ""):
                end = self.p.find(">", self.i)          # a named group: (?<name>...)
                if end < 0:
                    self.fail("unterminated group name")
                self.i = end + 1
            elif self.peek() == "?":
                self.fail("lookaround, named groups and inline flags are not supported")
            inner = self.alternation()
            if self.peek() != ")":
                self.fail("expected ')'")
            self.i += 1
            return f"({inner})"
        if c == "[":
            return self.chars(self.char_class())
        if c == ".":
            self.i += 1
            return self.chars(_norm_ranges(_ECMA_NEWLINES if self.json else [(10, 10)], True))
        if c in "*+?{":
            self.fail(f"nothing to repeat before {c!r}")
        if c in "^$":
            self.fail(f"anchor {c!r} is supported only at the start/end of the pattern")
        if c == "\\":
            return self.chars(self.escape(in_class=False))
        self.i += 1
        return self.chars(((ord(c), ord(c)),))

    def escape(self, in_class: bool) -> tuple:
        self.i += 1
        c = self.peek()
        if not c:
            self.fail("pattern ends with a backslash")
        self.i += 1
        named = {"d": (_DIGIT, False), "D": (_DIGIT, True), "w": (_WORD, False),
                 "W": (_WORD, True), "s": (_ECMA_SPACE if self.json else _SPACE, False),
                 "S": (_ECMA_SPACE if self.json else _SPACE, True)}
        if c in named:
            r, neg = named[c]
            return _norm_ranges(r, neg)
        simple = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "0": 0}
        if c in simple:
            return ((simple[c], simple[c]),)
        if c in "ux":
            n = 4 if c == "u" else 2
            h = self.p[self.i:self.i + n]
            if len(h) != n or any(x not in "0123456789abcdefABCDEF" for x in h):
                self.fail(f"bad \\{c} escape")
            self.i += n
            v = int(h, 16)
            return ((v, v),)
        if c.isalnum():
            self.fail(f"escape \\{c} (word boundary, backreference, ...) is not supported")
        return ((ord(c), ord(c)),)

    def char_class(self) -> tuple:
        self.i += 1
        neg = self.peek() == "^"
        if neg:
            self.i += 1
        ranges = []
        first = True
        while self.peek() != "]" or first:
            if not self.peek():
                self.fail("unterminated character class")
            first = False
            lo_r = self.class_atom()
            if self.peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
                self.i += 1
                hi_r = self.class_atom()
                if len(lo_r) != 1 or len(hi_r) != 1 or lo_r[0][0] != lo_r[0][1]:
                    self.fail("bad range in character class")
                if hi_r[0][0] < lo_r[0][0]:
                    self.fail("reversed range in character class")
                ranges.append((lo_r[0][0], hi_r[0][1]))
            else:
                ranges.extend(lo_r)
        self.i += 1
        return _norm_ranges(ranges, neg)

    def class_atom(self) -> tuple:
        c = self.peek()
        if c == "\\":
            return self.escape(in_class=True)
        self.i += 1
        return ((ord(c), ord(c)),)


def regex_to_gbnf_body(pattern: str) -> str:
    """GBNF expression for the JSON-encoded content of a string that matches `pattern`."""
    if not isinstance(pattern, str):
        raise GrammarError("JSON schema: pattern must be a string")
    return _RegexParser(pattern, json_mode=True).parse()


def regex_to_gbnf(pattern: str) -> str:
    """A whole grammar whose sentences are the full matches of `pattern`."""
    return "root ::= " + _RegexParser(pattern.removeprefix("^"), json_mode=False).parse() + "\n"


__all__ = ["regex_to_gbnf", "regex_to_gbnf_body", "MAX_CP"]
