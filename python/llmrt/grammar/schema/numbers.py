"""Number atoms -> GBNF: value sets, integer and decimal intervals, multipleOf.

Numbers are written in JSON's syntax. Integers (type integer, or any value-set member that is
integral) are written without a fraction or exponent: `1.0` is not accepted where an integer
is required, though JSON Schema counts it as one. Bounded decimals are written without an
exponent. Both choices only narrow the accepted language.

A decimal interval is split on the integer part: integers strictly inside take any fraction;
at a bound's integer part the fraction is compared digit by digit against the bound's fraction
(a small automaton over digits, one rule per state).
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

from ..intrange import int_range_gbnf
from .model import Num, Undecidable, check_empty, int_bounds, is_int_value, num_ok

MAX_ENUM = 256        # a bounded multipleOf range is listed when it has at most this many values
MAX_MODULUS = 1000    # residues of the digit automaton for multipleOf


def _lits(v: Decimal, integer: bool) -> list[str]:
    if is_int_value(v):
        s = str(int(v))
        return [f'"{s}"'] if integer else [f'"{s}"', f'"{s}.0"']
    forms = {format(v.normalize(), "f"), repr(float(v))}
    return [f'"{s}"' for s in sorted(forms) if Decimal(s) == v]


def num_expr(em, a: Num) -> str:
    """A GBNF expression (no trailing space) for the numbers of atom a."""
    if a.values is not None:
        alts = [x for v in sorted(a.values) if num_ok(a, v) for x in _lits(v, a.integer)]
        return " | ".join(alts) if alts else em.NEVER
    if a.excluded:
        return " | ".join(f"({num_expr(em, p)})" for p in _split(a))
    if a.mult:
        return _multiple(em, a)
    if a.nonint:
        if a.lo is None and a.hi is None:
            return 'int-body "." [0-9]* [1-9] [0-9]*'
        return interval(em, a.lo, a.lo_x, a.hi, a.hi_x, None, nonint=True)
    if a.integer:
        lo, hi = int_bounds(a)
        if lo is None and hi is None:
            return "int-body"
        return int_range_gbnf(lo, hi)
    if a.lo is None and a.hi is None:
        return "num-body"
    return interval(em, a.lo, a.lo_x, a.hi, a.hi_x, None)


def _split(a: Num) -> list[Num]:
    """a without its excluded points: the pieces of its interval between them."""
    cuts = sorted(v for v in a.excluded if num_ok(replace(a, excluded=frozenset()), v))
    base = replace(a, excluded=frozenset())
    if not cuts:
        return [base]
    out, lo, lo_x = [], a.lo, a.lo_x
    for c in cuts:
        out.append(replace(base, lo=lo, lo_x=lo_x, hi=c, hi_x=True))
        lo, lo_x = c, True
    out.append(replace(base, lo=lo, lo_x=lo_x, hi=a.hi, hi_x=a.hi_x))
    return [p for p in out if check_empty(p) is not None]


# ---- decimal intervals -------------------------------------------------------------------

def _frac_digits(d: Decimal) -> str:
    """The digits after the point of d >= 0, without trailing zeros."""
    s = format(d - math.floor(d), "f")
    return s.partition(".")[2].rstrip("0")


def _step(bound, d: int, upper: bool):
    """The bound on the rest of the fraction after digit d: 'dead', None (free) or a bound."""
    if bound is None:
        return None
    digits, strict = bound
    b0 = int(digits[0]) if digits else 0
    if d == b0:
        return (digits[1:], strict)
    if upper:
        return None if d < b0 else "dead"
    return None if d > b0 else "dead"


def _frac_alts(em, lo, hi, left):
    """Alternatives for a non-empty fraction digit string (without the point) whose value 0.s
    lies within the bounds, and whether the empty string (value 0) does too. `left`: how many
    digits may still follow (None = any)."""
    empty_ok = ((lo is None or (lo[0] == "" and not lo[1]))
                and (hi is None or hi[0] != "" or not hi[1]))
    if left == 0:
        return [], empty_ok
    free, alts = [], []
    nxt = None if left is None else left - 1
    for d in range(10):
        a, b = _step(lo, d, False), _step(hi, d, True)
        if a == "dead" or b == "dead":
            continue
        if a is None and b is None:
            free.append(d)
        else:
            alts.append(f'"{d}" {_frac_rule(em, a, b, nxt)}')
    if free:
        tail = "[0-9]*" if nxt is None else f"[0-9]{{0,{nxt}}}" if nxt else ""
        cls = "".join(str(d) for d in free)
        alts.insert(0, f"[{cls}] {tail}".strip())
    return alts, empty_ok


def _frac_rule(em, lo, hi, left) -> str:
    key = ("frac", lo, hi, left)
    got = em.memo.get(key)
    if got is not None:
        return got
    name = em.reserve("frac")
    em.memo[key] = name
    alts, empty_ok = _frac_alts(em, lo, hi, left)
    if empty_ok:
        alts.append('""')
    em.define(name, " | ".join(alts) if alts else em.NEVER)
    return name


def _with_fraction(em, int_part: str, lo, hi, left) -> str | None:
    alts, empty_ok = _frac_alts(em, lo, hi, left)
    out = []
    if alts:
        out.append(f'{int_part} "." ({" | ".join(alts)})')
    if empty_ok:
        out.append(int_part)
    return " | ".join(f"({x})" for x in out) if out else None


def _nonneg(em, lo: Decimal, lo_x: bool, hi, hi_x: bool, left, nonint=False) -> list[str]:
    """Alternatives for x >= 0 within [lo, hi] (hi None: unbounded), no sign. nonint: only
    numbers with a non-zero fraction."""
    li = math.floor(lo)
    lfrac = (_frac_digits(lo), lo_x)
    any_frac = "" if left == 0 else ' ("." [0-9]+)?' if left is None else f' ("." [0-9]{{1,{left}}})?'
    no_frac = None
    if nonint:
        if left is not None:
            raise Undecidable("a non-integer number with multipleOf")
        any_frac = ' "." [0-9]* [1-9] [0-9]*'
        lfrac = lfrac if lfrac[0] else ("", True)
        no_frac = ("", True)
    out = []
    if hi is None:
        out.append(f"({int_range_gbnf(li + 1, None)}){any_frac}")
        out.append(_with_fraction(em, f'"{li}"', lfrac, None, left))
        return [x for x in out if x]
    hi_i = math.floor(hi)
    hfrac = (_frac_digits(hi), hi_x)
    if li == hi_i:
        return [x for x in [_with_fraction(em, f'"{li}"', lfrac, hfrac, left)] if x]
    if li + 1 <= hi_i - 1:
        out.append(f"({int_range_gbnf(li + 1, hi_i - 1)}){any_frac}")
    out.append(_with_fraction(em, f'"{li}"', lfrac, None, left))
    out.append(_with_fraction(em, f'"{hi_i}"', no_frac, hfrac, left))
    return [x for x in out if x]


def interval(em, lo, lo_x, hi, hi_x, left, nonint=False) -> str:
    """Decimals (no exponent) within the bounds; `left`: most fraction digits (None = any);
    nonint: only numbers that are not integers."""
    alts = []
    if hi is None or hi > 0 or (hi == 0 and not hi_x):
        if lo is None or lo < 0:
            alts += _nonneg(em, Decimal(0), False, hi, hi_x, left, nonint)
        else:
            alts += _nonneg(em, lo, lo_x, hi, hi_x, left, nonint)
    if lo is None or lo < 0:
        if hi is not None and hi < 0:
            neg = _nonneg(em, -hi, hi_x, None if lo is None else -lo, lo_x, left, nonint)
        else:
            neg = _nonneg(em, Decimal(0), True, None if lo is None else -lo, lo_x, left, nonint)
        alts += [f'"-" ({x})' for x in neg]
    return " | ".join(f"({x})" for x in alts) if alts else em.NEVER


# ---- multipleOf --------------------------------------------------------------------------

def _ratio(m: Decimal) -> tuple[int, int]:
    """m = p / 10**k with integers p, k."""
    if m <= 0 or not m.is_finite():
        raise Undecidable("multipleOf must be a positive number")
    t = m.normalize().as_tuple()
    p = int("".join(map(str, t.digits)) or "0")
    k = -t.exponent
    if k < 0:
        p, k = p * 10 ** (-k), 0
    return p, k


def _multiple(em, a: Num) -> str:
    k = max(_ratio(m)[1] for m in a.mult)
    p = 1
    for m in a.mult:
        pm, km = _ratio(m)
        p = math.lcm(p, pm * 10 ** (k - km))
    if a.nonint:
        raise Undecidable("multipleOf on a non-integer number")
    if a.integer or k == 0:
        q = p // math.gcd(p, 10 ** k)       # integers that are multiples of p / 10**k
        return _int_multiples(em, a, q)
    step = Decimal(p) / Decimal(10) ** k
    if a.lo is not None and a.hi is not None:
        first = math.ceil(a.lo / step)
        last = math.floor(a.hi / step)
        if last - first + 1 <= MAX_ENUM:
            vals = [step * i for i in range(first, last + 1)]
            return " | ".join(x for v in vals if num_ok(a, v) for x in _lits(v, False)) or em.NEVER
    if a.lo is not None or a.hi is not None:
        if p == 1:     # a power of ten: at most k fraction digits
            return interval(em, a.lo, a.lo_x, a.hi, a.hi_x, k)
        raise Undecidable("multipleOf with bounds")
    if p > MAX_MODULUS:
        raise Undecidable(f"multipleOf needs {p} residues (at most {MAX_MODULUS})")
    return '"-"? ' + _digits_mod(em, p, k, zero=True)


def _int_multiples(em, a: Num, q: int) -> str:
    lo, hi = int_bounds(a)
    alts = []
    if lo is not None and hi is not None:
        first, last = -(-lo // q), hi // q
        if last - first + 1 > MAX_ENUM:
            raise Undecidable("multipleOf with a wide bounded range")
        return " | ".join(f'"{q * i}"' for i in range(first, last + 1)) or em.NEVER
    if q > MAX_MODULUS:
        raise Undecidable(f"multipleOf needs {q} residues (at most {MAX_MODULUS})")
    # x >= 0: every multiple when the range starts at or below 0, a finite list below hi
    if hi is None or hi >= 0:
        if hi is None and (lo is None or lo <= 0):
            alts.append(_digits_mod(em, q, 0, zero=True))
        elif hi is not None and lo is None:
            if hi // q + 1 > MAX_ENUM:
                raise Undecidable("multipleOf with a wide one-sided range")
            alts += [f'"{q * i}"' for i in range(0, hi // q + 1)]
        else:
            raise Undecidable("multipleOf with a lower bound above zero and no upper bound")
    if lo is None or lo < 0:
        if lo is None and (hi is None or hi >= -1):
            alts.append('"-" ' + _digits_mod(em, q, 0, zero=False))
        elif lo is not None:
            top = -1 if hi is None else min(hi, -1)
            vals = range(-(-lo // q) * q, top + 1, q)
            if len(vals) > MAX_ENUM:
                raise Undecidable("multipleOf with a wide one-sided range")
            alts += [f'"{v}"' for v in vals]
        else:
            raise Undecidable("multipleOf with an upper bound below zero and no lower bound")
    return " | ".join(f"({x})" for x in alts) if alts else em.NEVER


def _digits_mod(em, p: int, k: int, zero: bool) -> str:
    """Unsigned decimals (at most k fraction digits) whose value * 10**k is divisible by p.
    zero: whether the value 0 itself is allowed."""
    def ok(r, j):
        return (r * 10 ** (k - j)) % p == 0

    def frac(j, r) -> str:
        key = ("modf", p, k, j, r)
        if key in em.memo:
            return em.memo[key]
        name = em.memo[key] = em.reserve("modf")
        alts = ['""'] if ok(r, j) else []
        if j < k:
            alts += _digit_alts(lambda d: frac(j + 1, (10 * r + d) % p), range(10))
        em.define(name, " | ".join(alts) if alts else em.NEVER)
        return name

    def after_point(r) -> list[str]:
        if not k:
            return []
        return [f'"." ({" | ".join(_digit_alts(lambda d: frac(1, (10 * r + d) % p), range(10)))})']

    def whole(r) -> str:
        key = ("modi", p, k, r)
        if key in em.memo:
            return em.memo[key]
        name = em.memo[key] = em.reserve("modi")
        alts = (['""'] if ok(r, 0) else []) + after_point(r)
        alts += _digit_alts(lambda d: whole((10 * r + d) % p), range(10))
        em.define(name, " | ".join(alts))
        return name

    if not zero and k:
        raise Undecidable("a fractional multipleOf excluding zero")
    alts = _digit_alts(lambda d: whole(d % p), range(1, 10))
    if zero:
        alts.append('"0" (' + " | ".join(['""'] + after_point(0)) + ")")
    return "(" + " | ".join(alts) + ")"


def _digit_alts(target, digits) -> list[str]:
    groups: dict[str, list[int]] = {}
    for d in digits:
        groups.setdefault(target(d), []).append(d)
    return [f'[{"".join(map(str, ds))}] {t}' for t, ds in groups.items()]
