"""Array atoms -> GBNF: prefixItems, items, length bounds, contains counts, uniqueItems.

Plain arrays are a prefix of positional elements then repeated items. With `contains`, each
element is either counted (it matches the contains schema) or not (it matches the negation
when maxContains bounds the count; anything when only a minimum is asked), and a rule per
(position, count) tracks progress. uniqueItems is exact when the items are a finite set of
at most MAX_UNIQUE values (one rule per subset used). Otherwise the array is narrowed, never
widened, and the narrowing is listed in the grammar's warnings:
- finite items of more than MAX_UNIQUE values: only the first MAX_UNIQUE (sorted) are offered;
- items that are not a finite set (or prefixItems/contains beside uniqueItems), minItems <= 1:
  arrays of at most one item, which are unique by definition;
- the same with minItems >= 2: refused, as no grammar keeps unbounded items apart.
"""

from __future__ import annotations

from dataclasses import replace

from . import model as M
from .negation import negate
from .model import Undecidable

MAX_UNIQUE = 8
MAX_STATES = 2000


def _empty(n) -> bool:
    return n is not None and not isinstance(n, M.Ref) and n.empty


def arr_expr(em, a: M.Arr) -> str:
    hi = a.max_items
    items = a.items
    if a.unique and (hi is None or hi > 1):
        return _unique(em, a)
    contains = [c for c in a.contains if c[1] > 0 or c[2] is not None]
    if len(contains) > 1:
        raise Undecidable("more than one contains on one array")
    if contains:
        return _counted(em, a, contains[0])
    elems = [em.node(s, "item") for s in a.prefix]
    tail = None if _empty(items) else em.node(items, "item")
    if tail is None:
        hi = len(elems) if hi is None else min(hi, len(elems))
    body = _array_seq(elems, tail, a.min_items, hi)
    return '"[" space ' + body + ' "]"'


def _array_seq(elems, tail, lo, hi) -> str:
    """Elements with prefix `elems`, then `tail` items, lo..hi of them in all."""
    n = len(elems)

    def seq(k: int) -> str:
        if hi is not None and k >= hi:
            return ""
        sep = '"," space ' if k else ""
        if k < n:
            item = f"{sep}{elems[k]} {seq(k + 1)}".strip()
            return item if k < lo else f"({item})?"
        if tail is None:
            return ""
        rep = f'("," space {tail})'
        need = max(lo - k, 0)
        if need:
            more = None if hi is None else hi - k - need
            parts = [f"{sep}{tail}"]
            if need > 1:
                parts.append(f"{rep}{{{need - 1}}}")
            if more is None:
                parts.append(rep + "*")
            elif more > 0:
                parts.append(f"{rep}{{0,{more}}}")
            return " ".join(parts)
        if k == 0:
            return f"({tail} {rep}{'*' if hi is None else '{0,%d}' % (hi - 1)})?"
        return rep + ("*" if hi is None else f"{{0,{hi - k}}}")
    return seq(0)


def _counted(em, a: M.Arr, contains) -> str:
    c_node, c_lo, c_hi = contains
    hi = a.max_items
    cap = max(len(a.prefix), a.min_items, 1) if hi is None else hi
    c_cap = c_lo if c_hi is None else c_hi
    if (cap + 1) * (c_cap + 1) > MAX_STATES:
        raise Undecidable("contains with too many counted states")
    neg = negate(c_node) if c_hi is not None else None

    def item_at(k):
        return a.prefix[k] if k < len(a.prefix) else a.items

    memo: dict = {}

    def state(k: int, c: int) -> str:
        if (k, c) in memo:
            return memo[k, c]
        name = memo[k, c] = em.reserve("arr")
        alts = []
        if k >= a.min_items and c >= c_lo:
            alts.append('"]"')
        if hi is None or k < hi:
            x = item_at(k)
            sep = '"," space ' if k else ""
            k2 = k + 1 if hi is not None or k < cap else k
            if not _empty(x):
                yes = M.meet(x, c_node)
                if not _empty(yes) and (c_hi is None or c < c_hi):
                    alts.append(f"{sep}{em.node(yes, 'item')} {state(k2, min(c + 1, c_cap))}")
                no = x if neg is None else M.meet(x, neg)
                if not _empty(no):
                    alts.append(f"{sep}{em.node(no, 'item')} {state(k2, c)}")
        em.define(name, " | ".join(alts) if alts else em.NEVER)
        return name
    return '"[" space ' + state(0, 0)


def _finite_values(n) -> list | None:
    """The JSON values of n when it is a finite set of scalars, else None."""
    if n is None or isinstance(n, M.Ref) or n.refs:
        return None
    out = []
    for a in n.atoms:
        if isinstance(a, M.Null):
            out.append(M.Node((a,)))
        elif isinstance(a, M.Bool):
            out += [M.Node((M.Bool(frozenset({v})),)) for v in sorted(a.values)]
        elif isinstance(a, (M.Num, M.Str)) and a.values is not None:
            singles = [M.check_empty(replace(a, values=frozenset({v}))) for v in sorted(a.values)]
            out += [M.Node((x,)) for x in singles if x is not None]
        else:
            return None
    return out


def _at_most_one(em, a: M.Arr, why: str) -> str:
    if a.min_items > 1:
        raise Undecidable(f"uniqueItems {why} and minItems {a.min_items}")
    em.narrowed(f"uniqueItems {why}: arrays of at most one item")
    hi = 1 if a.max_items is None else min(a.max_items, 1)
    return arr_expr(em, replace(a, unique=False, max_items=hi))


def _unique(em, a: M.Arr) -> str:
    if a.prefix or a.contains:
        return _at_most_one(em, a, "with prefixItems or contains")
    vals = _finite_values(a.items)
    if vals is None:
        return _at_most_one(em, a, "where the items are not a finite set of values")
    if len(vals) > MAX_UNIQUE:
        if a.min_items > MAX_UNIQUE:
            raise Undecidable(f"uniqueItems over more than {MAX_UNIQUE} values "
                              f"and minItems {a.min_items}")
        em.narrowed(f"uniqueItems over {len(vals)} values: only the first {MAX_UNIQUE} offered")
        vals = vals[:MAX_UNIQUE]
    names = [em.node(v, "uniq") for v in vals]
    hi = len(vals) if a.max_items is None else min(a.max_items, len(vals))
    memo: dict = {}

    def state(used: frozenset) -> str:
        if used in memo:
            return memo[used]
        name = memo[used] = em.reserve("uniq")
        alts = ['"]"'] if len(used) >= a.min_items else []
        if len(used) < hi:
            sep = '"," space ' if used else ""
            for i, v in enumerate(names):
                if i not in used:
                    alts.append(f"{sep}{v} {state(used | {i})}")
        em.define(name, " | ".join(alts) if alts else em.NEVER)
        return name
    return '"[" space ' + state(frozenset())
