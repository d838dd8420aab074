"""Nodes -> GBNF rules.

Every node becomes one rule matching a JSON value followed by optional whitespace; atoms are
alternatives of that rule. Rules with the same body are shared; recursive $refs become a rule
that refers to itself.
"""

from __future__ import annotations

import re

from ...errors import GrammarError
from . import model as M
from .arrays import arr_expr
from .numbers import num_expr
from .objects import obj_expr
from .strings import str_expr

PRIMITIVES = r'''
value ::= (object-body | array-body | string-body | num-body | bool-body | null-body) space
object-body ::= "{" space ( string-body space ":" space value ("," space string-body space ":" space value)* )? "}"
array-body ::= "[" space ( value ("," space value)* )? "]"
string-body ::= "\"" char* "\""
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt/] | "u" hex-bmp | "u" [dD] [89abAB] [0-9a-fA-F]{2} "\\u" [dD] [c-fC-F] [0-9a-fA-F]{2})
hex-bmp ::= [0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}
num-body ::= int-body ("." [0-9]+)? ([eE] [-+]? [0-9]{1,3})?
int-body ::= "-"? ([0] | [1-9] [0-9]{0,15})
bool-body ::= "true" | "false"
null-body ::= "null"
space ::= | " " | "\n" [ \t]{0,20}
'''


def lit(s: str) -> str:
    """A GBNF string literal matching exactly s."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class Emitter:
    NEVER = "[^\\x00-\\U0010FFFF]"

    def __init__(self, recursive: dict, any_order: bool = False):
        self.rules: dict[str, str | None] = {}
        self._by_body: dict[str, str] = {}
        self.memo: dict = {}
        self._nodes: dict[int, str] = {}
        self._keep: list = []          # nodes whose id() is a memo key stay alive
        self.recursive = recursive
        self.any_order = any_order
        self.warnings: list[str] = []
        self.at = ""                   # JSON pointer of the node being emitted (for warnings)
        self._n = 0

    def reserve(self, hint: str) -> str:
        name = f"{re.sub(r'[^A-Za-z0-9-]+', '-', hint).strip('-') or 'r'}-{self._n}"
        self._n += 1
        self.rules[name] = None
        return name

    def define(self, name: str, body: str) -> None:
        self.rules[name] = body

    def add(self, hint: str, body: str) -> str:
        name = self._by_body.get(body)
        if name is None:
            name = self.reserve(hint)
            self.rules[name] = body
            self._by_body[body] = name
        return name

    def node(self, n, hint: str = "v") -> str:
        """A rule name (or builtin) matching n's values followed by whitespace."""
        if n is None:
            return "value"
        if isinstance(n, M.Ref):
            key = ("ref", n.key)
            if key not in self.memo:
                name = self.memo[key] = self.reserve("ref")
                self.define(name, self.node(self.recursive[n.key], "ref"))
            return self.memo[key]
        if n.is_any():
            return "value"
        got = self._nodes.get(id(n))
        if got is not None:
            return got
        outer, self.at = self.at, getattr(n, "at", self.at)
        try:
            alts = [self.atom(a, hint) for a in n.atoms]
        except M.Undecidable as e:
            raise GrammarError(f"JSON schema at '{self.at or '/'}': {e}") from None
        finally:
            self.at = outer
        parts = (["(" + " | ".join(alts) + ") space"] if alts else []) + [self.node(r) for r in n.refs]
        body = " | ".join(parts) if parts else self.NEVER
        name = self.add(hint, body)
        self._nodes[id(n)] = name
        self._keep.append(n)
        return name

    def atom(self, a, hint) -> str:
        if isinstance(a, M.Null):
            return "null-body"
        if isinstance(a, M.Bool):
            return "bool-body" if len(a.values) == 2 else ('"true"' if True in a.values else '"false"')
        if isinstance(a, M.Num):
            return self.add(hint + "-num", num_expr(self, a))
        if isinstance(a, M.Str):
            return self.add(hint + "-str", str_expr(self, a))
        if isinstance(a, M.Arr):
            return self.add(hint + "-arr", arr_expr(self, a))
        return self.add(hint + "-obj", obj_expr(self, a))

    def narrowed(self, what: str) -> None:
        """Record that the grammar accepts less than the schema here (never more)."""
        msg = f"narrowed at '{self.at or '/'}': {what}"
        if msg not in self.warnings:
            self.warnings.append(msg)

    def gbnf(self, top: str) -> str:
        lines = [f"root ::= space {top}"]
        lines += [f"{k} ::= {v}" for k, v in self.rules.items()]
        return "\n".join(lines) + "\n" + PRIMITIVES


def to_gbnf(node, recursive: dict, any_order: bool = False):
    """(GBNF text, warnings)."""
    if not isinstance(node, M.Ref) and node.empty:
        raise GrammarError("JSON schema: type at '/': the schema matches no value "
                           "(false, or contradictory keywords)")
    em = Emitter(recursive, any_order)
    top = em.node(node, "root")
    return em.gbnf(top), em.warnings
