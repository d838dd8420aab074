"""Complements of nodes, where the complement of an atom's constraints is again a union of
atoms. Negated atoms carry no evaluation annotations (`not` never produces any).

The complement of an atom is the union of "violates constraint c" over its constraints. Where
one such violation is not representable (a pattern, multipleOf, uniqueItems, additional/pattern
properties, a recursive $ref), `negate(n, narrow)` leaves that alternative out and calls
narrow(what): the result is then a subset of the complement, sound wherever it is used
positively. A result narrowed this way must never be negated again (its complement would be a
superset): nodes carrying `exact = False` (set by the builder) refuse negation.
"""

from __future__ import annotations

from .model import (ANY, ATOM_OF, FALSE, KINDS, Arr, Atom, Bool, Node, Null, Num, Obj, Str,
                    Undecidable, check_empty, meet, node)


def negate(n, narrow=None):
    """The complement of n among all JSON values. Where a part is not representable:
    Undecidable, or with narrow given, that part left out (a subset of the complement)."""
    if not getattr(n, "exact", True):
        raise Undecidable("negation of a schema compiled narrower than it is")
    out = ANY
    for r in n.refs:
        _cannot(narrow, "negation of a recursive $ref")
        out = meet(out, node(_others_all(r.kinds)))
    for a in n.atoms:
        out = meet(out, _negate_atom(a, narrow))
    return out


def _cannot(narrow, what: str) -> None:
    if narrow is None:
        raise Undecidable(what)
    narrow(what + " left out")


def _others_all(kinds) -> list:
    """Atoms of every kind outside `kinds` (None: all kinds taken)."""
    return [] if kinds is None else [ATOM_OF[k]() for k in KINDS if k not in kinds]


def _others(kind):
    return [ATOM_OF[k]() for k in KINDS if k != kind]


def _negate_atom(a: Atom, narrow) -> Node:
    alts = _others(a.kind)
    if isinstance(a, Null):
        pass
    elif isinstance(a, Bool):
        alts.append(check_empty(Bool(frozenset({True, False}) - a.values)))
    elif isinstance(a, Num):
        alts += _negate_num(a, narrow)
    elif isinstance(a, Str):
        alts += _negate_str(a, narrow)
    elif isinstance(a, Arr):
        alts += _negate_arr(a, narrow)
    else:
        alts += _negate_obj(a, narrow)
    return node(alts)


def _negate_num(a: Num, narrow) -> list:
    if a.mult:
        _cannot(narrow, "negation of multipleOf")
    out = []
    if a.integer:
        out.append(Num(nonint=True))
    if a.nonint:
        out.append(Num(integer=True))
    if a.lo is not None:
        out.append(Num(hi=a.lo, hi_x=not a.lo_x))
    if a.hi is not None:
        out.append(Num(lo=a.hi, lo_x=not a.hi_x))
    return out + _flip_values(a)


def _flip_values(a) -> list:
    """Complements of a value set (excluded) and of an exclusion (the set)."""
    out = [] if a.values is None else [type(a)(excluded=a.values)]
    return out + ([type(a)(values=a.excluded)] if a.excluded else [])


def _negate_str(a: Str, narrow) -> list:
    if a.patterns or a.formats:
        _cannot(narrow, "negation of pattern/format")
    out = []
    if a.min_len:
        out.append(Str(max_len=a.min_len - 1))
    if a.max_len is not None:
        out.append(Str(min_len=a.max_len + 1))
    return out + _flip_values(a)


def _negate_arr(a: Arr, narrow) -> list:
    if a.unique:
        _cannot(narrow, "negation of uniqueItems")
    out = []
    if a.min_items:
        out.append(Arr(max_items=a.min_items - 1))
    if a.max_items is not None:
        out.append(Arr(min_items=a.max_items + 1))
    n = len(a.prefix)
    for i, s in enumerate(a.prefix):       # position i exists and breaks prefixItems[i]
        if not (isinstance(s, Node) and s.is_any()):
            out.append(Arr(prefix=(ANY,) * i + (negate(s, narrow),), min_items=i + 1))
    if a.items is not None and not a.items.is_any():
        if isinstance(a.items, Node) and a.items.empty:
            out.append(Arr(min_items=n + 1))
        elif n:
            _cannot(narrow, "negation of items after prefixItems")
        else:
            out.append(Arr(contains=((negate(a.items, narrow), 1, None),)))
    for c, lo, hi in a.contains:
        if hi is not None or lo > 1:
            _cannot(narrow, "negation of minContains/maxContains")
        elif lo == 1:
            out.append(Arr(items=negate(c, narrow)))
    return out


def _negate_obj(a: Obj, narrow) -> list:
    if a.patterns or a.additional is not None or a.names is not None:
        _cannot(narrow, "negation of patternProperties/additionalProperties/propertyNames")
    out = []
    for k in sorted(a.required):
        out.append(Obj(props=((k, FALSE),)))
    for k, s in a.props:
        if not s.is_any() if isinstance(s, Node) else True:
            out.append(Obj(props=((k, negate(s, narrow)),), required=frozenset({k})))
    if a.min_props:
        out.append(Obj(max_props=a.min_props - 1))
    if a.max_props is not None:
        out.append(Obj(min_props=a.max_props + 1))
    return out
