"""Checks of concrete values against one atom's constraints (model.py): whether a number or a
string satisfies a Num or Str, ECMA-262 pattern search, integer bounds. Used to decide
emptiness when an atom lists its values, and by values.py to test instances."""

from __future__ import annotations

import math
import re
from decimal import Decimal


def dec(v) -> Decimal:
    return Decimal(v) if isinstance(v, int) else Decimal(repr(float(v)))


def is_int_value(d: Decimal) -> bool:
    return d.is_finite() and d == d.to_integral_value()


# ---- values as atoms -----------------------------------------------------------------

def int_bounds(a):
    """(lowest, highest) integers in a's range, None where unbounded."""
    lo = hi = None
    if a.lo is not None:
        lo = math.floor(a.lo) + 1 if a.lo_x else math.ceil(a.lo)
    if a.hi is not None:
        hi = math.ceil(a.hi) - 1 if a.hi_x else math.floor(a.hi)
    return lo, hi


# ---- concrete values ---------------------------------------------------------------------

_PY_RE: dict = {}


def pattern_search(pattern: str, s: str) -> bool:
    """ECMA-262 search semantics, approximated by Python's re in ASCII mode (with `$` meaning
    the end of the string, not also before a final newline)."""
    rx = _PY_RE.get(pattern)
    if rx is None:
        try:
            rx = re.compile(_ecma_dollar(pattern), re.ASCII)
        except re.error as e:
            from .model import Undecidable    # model.py builds on this module
            raise Undecidable(f"pattern {pattern!r} is not a supported regex: {e}") from None
        _PY_RE[pattern] = rx
    return rx.search(s) is not None


def _ecma_dollar(p: str) -> str:
    out, i, in_class = [], 0, False
    while i < len(p):
        c = p[i]
        if c == "\\":
            out.append(p[i:i + 2])
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        if c == "(" and not in_class and p.startswith("(?<", i) and p[i + 3:i + 4] not in "=!":
            out.append("(?P<")          # ECMA's named group
            i += 3
            continue
        out.append("\\Z" if c == "$" and not in_class else c)
        i += 1
    return "".join(out)


def num_ok(a, v: Decimal) -> bool:
    if a.integer and not is_int_value(v):
        return False
    if a.nonint and is_int_value(v):
        return False
    if a.lo is not None and (v < a.lo or (a.lo_x and v == a.lo)):
        return False
    if a.hi is not None and (v > a.hi or (a.hi_x and v == a.hi)):
        return False
    if any(m and v % m != 0 for m in a.mult):
        return False
    if a.values is not None and v not in a.values:
        return False
    return v not in a.excluded


def str_ok(a, s: str) -> bool:
    n = len(s)      # code points, as JSON Schema counts
    if n < a.min_len or (a.max_len is not None and n > a.max_len):
        return False
    if not all(pattern_search(p, s) for p in a.patterns):
        return False
    if a.formats:
        from .strings import format_ok
        if not all(format_ok(f, s) for f in a.formats):
            return False
    if a.values is not None and s not in a.values:
        return False
    return s not in a.excluded
