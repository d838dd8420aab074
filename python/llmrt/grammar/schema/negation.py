"""Complements of nodes, where the complement of an atom's constraints is again a union of
atoms. Negated atoms carry no evaluation annotations (`not` never produces any)."""

from __future__ import annotations

from .model import (ANY, ATOM_OF, FALSE, KINDS, Arr, Atom, Bool, Node, Null, Num, Obj, Ref, Str,
                    Undecidable, check_empty, meet, node)


def negate(n):
    """The complement of n among all JSON values; Undecidable where not representable."""
    if isinstance(n, Ref) or n.refs:
        raise Undecidable("negation of a recursive $ref")
    out = ANY
    for a in n.atoms:
        out = meet(out, _negate_atom(a))
    return out


def _others(kind):
    return [ATOM_OF[k]() for k in KINDS if k != kind]


def _negate_atom(a: Atom) -> Node:
    alts = _others(a.kind)
    if isinstance(a, Null):
        pass
    elif isinstance(a, Bool):
        alts.append(check_empty(Bool(frozenset({True, False}) - a.values)))
    elif isinstance(a, Num):
        alts += _negate_num(a)
    elif isinstance(a, Str):
        alts += _negate_str(a)
    elif isinstance(a, Arr):
        alts += _negate_arr(a)
    else:
        alts += _negate_obj(a)
    return node(alts)


def _negate_num(a: Num) -> list:
    if a.mult:
        raise Undecidable("negation of multipleOf")
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


def _negate_str(a: Str) -> list:
    if a.patterns or a.formats:
        raise Undecidable("negation of pattern/format")
    out = []
    if a.min_len:
        out.append(Str(max_len=a.min_len - 1))
    if a.max_len is not None:
        out.append(Str(min_len=a.max_len + 1))
    return out + _flip_values(a)


def _negate_arr(a: Arr) -> list:
    if a.unique:
        raise Undecidable("negation of uniqueItems")
    out = []
    if a.min_items:
        out.append(Arr(max_items=a.min_items - 1))
    if a.max_items is not None:
        out.append(Arr(min_items=a.max_items + 1))
    n = len(a.prefix)
    for i, s in enumerate(a.prefix):       # position i exists and breaks prefixItems[i]
        if not (isinstance(s, Node) and s.is_any()):
            out.append(Arr(prefix=(ANY,) * i + (negate(s),), min_items=i + 1))
    if a.items is not None and not a.items.is_any():
        if isinstance(a.items, Node) and a.items.empty:
            out.append(Arr(min_items=n + 1))
        elif n:
            raise Undecidable("negation of items after prefixItems")
        else:
            out.append(Arr(contains=((negate(a.items), 1, None),)))
    for c, lo, hi in a.contains:
        if hi is not None or lo > 1:
            raise Undecidable("negation of minContains/maxContains")
        if lo == 1:
            out.append(Arr(items=negate(c)))
    return out


def _negate_obj(a: Obj) -> list:
    if a.patterns or a.additional is not None or a.names is not None:
        raise Undecidable("negation of patternProperties/additionalProperties/propertyNames")
    out = []
    for k in sorted(a.required):
        out.append(Obj(props=((k, FALSE),)))
    for k, s in a.props:
        if not s.is_any() if isinstance(s, Node) else True:
            out.append(Obj(props=((k, negate(s)),), required=frozenset({k})))
    if a.min_props:
        out.append(Obj(max_props=a.min_props - 1))
    if a.max_props is not None:
        out.append(Obj(min_props=a.max_props + 1))
    return out
