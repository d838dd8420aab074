"""The language of a schema as a union of typed atoms.

A `Node` is a union of atoms; each atom is one JSON kind (null, boolean, number, string,
array, object) with the constraints that kind's keywords put on it. Intersection (allOf,
sibling keywords) distributes over the unions; negation (not, oneOf, if/else) is defined for
the constraints whose complement is again an atom and raises `Undecidable` otherwise. An atom
that is provably empty is dropped, so `Node.empty` means "matches nothing" exactly when the
emptiness was decidable, and never otherwise.

`Ref` is an opaque node standing for a recursive $ref: it can be emitted but not intersected.

Where an intersection is not representable exactly but a subset of it is, and the caller has
set NARROW to a callback, the subset is used and the callback told (the builder then marks the
enclosing schema inexact, see build.py); with NARROW unset it raises Undecidable.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, replace
from decimal import Decimal

from .value_checks import dec, int_bounds, is_int_value, num_ok, pattern_search, str_ok  # noqa: F401 (re-exported)

MAX_ATOMS = 256
NARROW: contextvars.ContextVar = contextvars.ContextVar("NARROW", default=None)


class Undecidable(Exception):
    """An operation whose result is not representable; the caller names keyword and pointer."""


@dataclass(eq=False)
class Node:
    atoms: tuple = ()
    refs: tuple = ()              # recursive references united with the atoms

    @property
    def empty(self) -> bool:
        return not self.atoms and not self.refs

    def is_any(self) -> bool:
        return self is ANY or (len(self.atoms) == 6 and all(a.unconstrained() for a in self.atoms))


@dataclass(eq=False)
class Ref:
    """A recursive reference, emitted as a named rule. `kinds`: the kinds its values can
    have (from the target's `type`), None when unknown."""
    key: object
    kinds: frozenset | None = None
    atoms = ()
    empty = False

    @property
    def refs(self) -> tuple:
        return (self,)

    def is_any(self) -> bool:
        return False


# ---- atoms -------------------------------------------------------------------------------

class Atom:
    kind = ""

    def unconstrained(self) -> bool:
        return self == type(self)()


@dataclass(frozen=True)
class Null(Atom):
    kind = "null"


@dataclass(frozen=True)
class Bool(Atom):
    kind = "boolean"
    values: frozenset = frozenset({True, False})


@dataclass(frozen=True)
class Num(Atom):
    kind = "number"
    integer: bool = False
    nonint: bool = False          # a fraction with a non-zero digit (negation of integer)
    lo: Decimal | None = None
    lo_x: bool = False            # lo is exclusive
    hi: Decimal | None = None
    hi_x: bool = False
    mult: tuple = ()              # multipleOf values (Decimal)
    values: frozenset | None = None
    excluded: frozenset = frozenset()


@dataclass(frozen=True)
class Str(Atom):
    kind = "string"
    min_len: int = 0
    max_len: int | None = None
    patterns: tuple = ()
    formats: tuple = ()
    values: frozenset | None = None
    excluded: frozenset = frozenset()


@dataclass(frozen=True, eq=False)
class Arr(Atom):
    kind = "array"
    prefix: tuple = ()            # Node per leading position
    items: object = None          # Node for the rest; None = any
    min_items: int = 0
    max_items: int | None = None
    contains: tuple = ()          # (Node, min, max or None)
    unique: bool = False
    ev_prefix: int = 0            # positions evaluated (for unevaluatedItems)
    ev_all: bool = False

    def unconstrained(self) -> bool:
        return (not self.prefix and self.items is None and not self.min_items
                and self.max_items is None and not self.contains and not self.unique)


@dataclass(frozen=True, eq=False)
class Obj(Atom):
    kind = "object"
    props: tuple = ()             # ((key, Node), ...) in schema order
    required: frozenset = frozenset()
    patterns: tuple = ()          # ((regex, Node), ...)
    additional: object = None     # Node for keys neither declared nor matching; None = any
    names: object = None          # Node for every key (a string node); None = any
    min_props: int = 0
    max_props: int | None = None
    ev_keys: frozenset = frozenset()
    ev_patterns: tuple = ()
    ev_all: bool = False

    def unconstrained(self) -> bool:
        return (not self.props and not self.required and not self.patterns
                and self.additional is None and self.names is None and not self.min_props
                and self.max_props is None)

    def prop(self, key):
        for k, v in self.props:
            if k == key:
                return v
        return None


KINDS = ("null", "boolean", "number", "string", "array", "object")
ATOM_OF = {"null": Null, "boolean": Bool, "number": Num, "string": Str, "array": Arr,
           "object": Obj}
ANY = Node(tuple(ATOM_OF[k]() for k in KINDS))
FALSE = Node(())


def node(atoms, refs=()) -> Node:
    atoms = tuple(a for a in atoms if a is not None)
    if len(atoms) > MAX_ATOMS:
        narrow = NARROW.get()
        if narrow is None:
            raise Undecidable(f"more than {MAX_ATOMS} alternatives")
        narrow(f"{len(atoms)} alternatives: only the first {MAX_ATOMS} kept")
        atoms = atoms[:MAX_ATOMS]
    refs = tuple({id(r): r for r in refs}.values())
    if len(refs) == 1 and not atoms:
        return refs[0]
    return Node(atoms, refs)


def kinds_node(kinds, integer_only=False) -> Node:
    out = []
    for k in KINDS:
        if k in kinds:
            out.append(Num(integer=True) if k == "number" and integer_only else ATOM_OF[k]())
    return node(out)


def from_value(v) -> Node:
    """The node matching exactly the JSON value v (numbers compared by value)."""
    if v is None:
        return Node((Null(),))
    if isinstance(v, bool):
        return Node((Bool(frozenset({v})),))
    if isinstance(v, (int, float)):
        return Node((Num(values=frozenset({dec(v)})),))
    if isinstance(v, str):
        return Node((Str(values=frozenset({v})),))
    if isinstance(v, list):
        return Node((Arr(prefix=tuple(from_value(x) for x in v), items=FALSE,
                         min_items=len(v), max_items=len(v)),))
    if isinstance(v, dict):
        return Node((Obj(props=tuple((k, from_value(x)) for k, x in v.items()),
                         required=frozenset(v), additional=FALSE),))
    raise Undecidable(f"not a JSON value: {v!r}")


def union(nodes) -> Node:
    atoms, refs = [], []
    for n in nodes:
        if n.is_any():
            return ANY
        if isinstance(n, Ref):
            refs.append(n)
        else:
            atoms.extend(n.atoms)
            refs.extend(n.refs)
    return node(_merge_value_sets(atoms), refs)


def _merge_value_sets(atoms) -> list:
    """Atoms that are nothing but a value set of one kind become one atom (large enums)."""
    out, sets = [], {}
    for a in atoms:
        if isinstance(a, (Num, Str)) and a.values is not None and replace(a, values=None).unconstrained():
            sets.setdefault(type(a), set()).update(a.values)
        else:
            out.append(a)
    return out + [cls(values=frozenset(v)) for cls, v in sets.items()]


# ---- intersection ------------------------------------------------------------------------

def meet(a, b):
    if a is None or a.is_any():
        return b
    if b is None or b.is_any():
        return a
    if a is b:
        return a
    if a.empty or b.empty:
        return FALSE
    out = []
    for x in a.atoms:
        for y in b.atoms:
            if x.kind == y.kind:
                out.append(meet_atom(x, y))
    refs = [r for r in a.refs if _ref_within(r, b)] + [r for r in b.refs if _ref_within(r, a)]
    for ra in a.refs:
        for rb in b.refs:
            if ra.key == rb.key:
                refs.append(ra)
            elif ra.kinds is None or rb.kinds is None or ra.kinds & rb.kinds:
                raise Undecidable("two recursive $refs intersected")
    return node(out, refs)


def _ref_within(r: Ref, n) -> bool:
    """Whether r meets the atoms of n in r itself (True) or in nothing (False); Undecidable
    otherwise (a recursive reference is not unfolded)."""
    near = [a for a in n.atoms if r.kinds is None or a.kind in r.kinds]
    if not near:
        return False
    kinds = r.kinds if r.kinds is not None else frozenset(KINDS)
    free = {a.kind for a in near if a.unconstrained()}
    if kinds <= free:
        return True
    raise Undecidable("a recursive $ref combined with other constraints")


def meet_atom(x: Atom, y: Atom):
    if isinstance(x, Null):
        return x
    if isinstance(x, Bool):
        return check_empty(Bool(x.values & y.values))
    f = {"number": _meet_num, "string": _meet_str, "array": _meet_arr, "object": _meet_obj}
    return check_empty(f[x.kind](x, y))


def _lower(x_lo, x_x, y_lo, y_x):
    if x_lo is None:
        return y_lo, y_x
    if y_lo is None or x_lo > y_lo:
        return x_lo, x_x
    if y_lo > x_lo:
        return y_lo, y_x
    return x_lo, x_x or y_x


def _upper(x_hi, x_x, y_hi, y_x):
    if x_hi is None:
        return y_hi, y_x
    if y_hi is None or x_hi < y_hi:
        return x_hi, x_x
    if y_hi < x_hi:
        return y_hi, y_x
    return x_hi, x_x or y_x


def _values(x, y):
    if x.values is None:
        return y.values
    if y.values is None:
        return x.values
    return x.values & y.values


def _meet_num(x: Num, y: Num) -> Num:
    lo, lo_x = _lower(x.lo, x.lo_x, y.lo, y.lo_x)
    hi, hi_x = _upper(x.hi, x.hi_x, y.hi, y.hi_x)
    return Num(x.integer or y.integer, x.nonint or y.nonint, lo, lo_x, hi, hi_x,
               tuple(dict.fromkeys(x.mult + y.mult)), _values(x, y), x.excluded | y.excluded)


def _meet_str(x: Str, y: Str) -> Str:
    hi = y.max_len if x.max_len is None else x.max_len if y.max_len is None else min(x.max_len, y.max_len)
    return Str(max(x.min_len, y.min_len), hi, tuple(dict.fromkeys(x.patterns + y.patterns)),
               tuple(dict.fromkeys(x.formats + y.formats)), _values(x, y), x.excluded | y.excluded)


def _item_at(a: Arr, i: int):
    return a.prefix[i] if i < len(a.prefix) else a.items


def _meet_arr(x: Arr, y: Arr) -> Arr:
    n = max(len(x.prefix), len(y.prefix))
    prefix = tuple(meet(_item_at(x, i), _item_at(y, i)) or ANY for i in range(n))
    hi = y.max_items if x.max_items is None else x.max_items if y.max_items is None else min(x.max_items, y.max_items)
    return Arr(prefix, meet(x.items, y.items), max(x.min_items, y.min_items), hi,
               x.contains + y.contains, x.unique or y.unique, max(x.ev_prefix, y.ev_prefix),
               x.ev_all or y.ev_all)


def key_schema(o: Obj, key: str):
    """What `o` requires of the value of `key` (None = anything)."""
    got = o.prop(key)
    if got is not None:
        return got
    hits = [s for p, s in o.patterns if pattern_search(p, key)]
    if hits:
        out = None
        for s in hits:
            out = meet(out, s)
        return out
    return o.additional


def _meet_obj(x: Obj, y: Obj) -> Obj:
    keys = list(dict.fromkeys([k for k, _ in x.props] + [k for k, _ in y.props]))
    props = tuple((k, meet(key_schema(x, k), key_schema(y, k)) or ANY) for k in keys)
    if not x.patterns and not y.patterns:
        patterns, additional = (), meet(x.additional, y.additional)
    elif x.additional is None and y.additional is None:
        patterns, additional = x.patterns + y.patterns, None
    elif not x.patterns:
        patterns = tuple((p, meet(s, x.additional)) for p, s in y.patterns)
        additional = meet(y.additional, x.additional)
    elif not y.patterns:
        patterns = tuple((p, meet(s, y.additional)) for p, s in x.patterns)
        additional = meet(x.additional, y.additional)
    else:
        patterns, additional = _meet_patterns_narrowed(x, y)
    hi = y.max_props if x.max_props is None else x.max_props if y.max_props is None else min(x.max_props, y.max_props)
    return Obj(props, x.required | y.required, patterns, additional, meet(x.names, y.names),
               max(x.min_props, y.min_props), hi, x.ev_keys | y.ev_keys,
               x.ev_patterns + y.ev_patterns, x.ev_all or y.ev_all)


def _strictest(o: Obj):
    """A node inside every value schema o can give an undeclared key."""
    out = o.additional
    for _, s in o.patterns:
        out = meet(out, s)
    return out


def _meet_patterns_narrowed(x: Obj, y: Obj):
    """patternProperties and additionalProperties on both sides: a key matching a pattern of
    one side takes that pattern's schema and the strictest the other side asks of any key, so
    whatever patterns it matches on the other side are met too (a subset of the meet)."""
    narrow = NARROW.get()
    if narrow is None:
        raise Undecidable("patternProperties and additionalProperties on both sides")
    narrow("patternProperties and additionalProperties on both sides of an intersection: "
           "a key matching a pattern meets every schema the other side gives")
    x_all, y_all = _strictest(x), _strictest(y)
    patterns = (tuple((p, meet(s, y_all)) for p, s in x.patterns)
                + tuple((p, meet(s, x_all)) for p, s in y.patterns))
    return patterns, meet(x.additional, y.additional)


def check_empty(a):
    """a, or None when a provably matches nothing."""
    if isinstance(a, Bool):
        return a if a.values else None
    if isinstance(a, Num):
        if a.integer and a.nonint:
            return None
        if a.values is not None:
            vals = frozenset(v for v in a.values if num_ok(a, v))
            return replace(a, values=vals) if vals else None
        if a.lo is not None and a.hi is not None:
            if a.lo > a.hi or (a.lo == a.hi and (a.lo_x or a.hi_x)):
                return None
            if a.integer and int_bounds(a)[0] > int_bounds(a)[1]:
                return None
        return a
    if isinstance(a, Str):
        if a.max_len is not None and a.min_len > a.max_len:
            return None
        if a.values is not None:
            vals = frozenset(v for v in a.values if str_ok(a, v))
            return replace(a, values=vals) if vals else None
        return a
    if isinstance(a, Arr):
        if a.max_items is not None and a.min_items > a.max_items:
            return None
        for i, s in enumerate(a.prefix):
            if not isinstance(s, Ref) and s.empty:
                if i < a.min_items:
                    return None
                hi = i if a.max_items is None else min(i, a.max_items)
                return check_empty(replace(a, prefix=a.prefix[:i], items=FALSE, max_items=hi))
        if a.items is not None and not isinstance(a.items, Ref) and a.items.empty:
            if a.min_items > len(a.prefix):
                return None
        for c, lo, _ in a.contains:
            if lo > 0 and not isinstance(c, Ref) and c.empty:
                return None
        return a
    if isinstance(a, Obj):
        if a.max_props is not None and a.min_props > a.max_props:
            return None
        if a.max_props is not None and len(a.required) > a.max_props:
            return None
        for k in a.required:
            s = key_schema(a, k)
            if s is not None and not isinstance(s, Ref) and s.empty:
                return None
            if a.names is not None and not _names_accept(a.names, k):
                return None
        return a
    return a


def _names_accept(names, key: str) -> bool:
    from .values import node_accepts     # values.py builds on this module
    return node_accepts(names, key)
