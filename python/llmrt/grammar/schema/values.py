"""Concrete JSON values against nodes: whether a value is in a node's language."""

from __future__ import annotations

from .model import Arr, Atom, Bool, Null, Num, Obj, Ref, Str, _item_at, dec, key_schema, num_ok, str_ok


def node_accepts(n, v) -> bool:
    """Whether the concrete JSON value v is in n's language (recursive refs: assumed yes)."""
    if n is None or n.refs or isinstance(n, Ref):
        return True
    return any(atom_accepts(a, v) for a in n.atoms)


def atom_accepts(a: Atom, v) -> bool:
    if v is None:
        return isinstance(a, Null)
    if isinstance(v, bool):
        return isinstance(a, Bool) and v in a.values
    if isinstance(v, (int, float)):
        return isinstance(a, Num) and num_ok(a, dec(v))
    if isinstance(v, str):
        return isinstance(a, Str) and str_ok(a, v)
    if isinstance(v, list):
        if not isinstance(a, Arr):
            return False
        if a.unique and any(_same(x, y) for i, x in enumerate(v) for y in v[i + 1:]):
            return False
        if len(v) < a.min_items or (a.max_items is not None and len(v) > a.max_items):
            return False
        if not all(node_accepts(_item_at(a, i), x) for i, x in enumerate(v)):
            return False
        for c, lo, hi in a.contains:
            k = sum(node_accepts(c, x) for x in v)
            if k < lo or (hi is not None and k > hi):
                return False
        return True
    if isinstance(v, dict):
        if not isinstance(a, Obj):
            return False
        if not a.required <= set(v) or len(v) < a.min_props:
            return False
        if a.max_props is not None and len(v) > a.max_props:
            return False
        return all(node_accepts(a.names, k) and node_accepts(key_schema(a, k), x)
                   for k, x in v.items())
    return False


def _same(x, y) -> bool:
    """JSON equality (1 == 1.0, True != 1)."""
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return x == y
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    return type(x) is type(y) and x == y
