"""Object atoms -> GBNF.

Declared properties are written in schema order (required ones mandatory, others optional);
keys beyond them follow. With `any_order` an object of at most MAX_ANY_ORDER declared
properties (and no property-count bounds) takes them in any order, extra keys anywhere.

Extra keys: a key that is not declared takes a value meeting additionalProperties and every
patternProperties schema (exact for keys matching no pattern, narrower for keys matching
some); a key matching a pattern that no declared key matches may also take a value meeting
all pattern schemas when additionalProperties is stricter. propertyNames with a finite set of
names turns them into optional declared properties; other propertyNames apply to the extra
keys only when no declared key could satisfy them.
"""

from __future__ import annotations

from dataclasses import replace

from ..regex import regex_to_gbnf_body
from . import model as M
from .model import Undecidable
from .strings import json_lits, not_strings, str_expr
from .values import node_accepts

MAX_ANY_ORDER = 8
MAX_STATES = 4000


def _empty(n) -> bool:
    return n is not None and not isinstance(n, M.Ref) and n.empty


def _key(k: str) -> str:
    lits = json_lits(k)
    return lits[0] if len(lits) == 1 else "(" + " | ".join(lits) + ")"


def obj_expr(em, a: M.Obj) -> str:
    props = list(a.props)
    declared = {k for k, _ in props}
    names_fin = _finite_names(a.names)
    if names_fin is not None:      # every other key is impossible: declare the allowed ones
        props += [(k, M.key_schema(a, k)) for k in names_fin if k not in declared]
        declared |= set(names_fin)
    for k in sorted(a.required - declared):
        props.append((k, M.key_schema(a, k)))
        declared.add(k)
    members = []
    for k, s in props:
        if _empty(s) or (a.names is not None and not node_accepts(a.names, k)):
            if k in a.required:
                return em.NEVER
            continue
        kv = em.add("kv", f'{_key(k)} space ":" space {em.node(s, "p-" + k[:20])}')
        members.append((kv, k in a.required))
    extra = None if names_fin is not None else _extra(em, a, sorted(declared))
    counted = a.min_props > 0 or a.max_props is not None
    if em.any_order and not counted and 1 < len(members) <= MAX_ANY_ORDER:
        return '"{" space ' + _any_order(em, members, extra)
    return '"{" space ' + _ordered(em, members, extra, a.min_props, a.max_props)


def _finite_names(names):
    if names is None or isinstance(names, M.Ref) or names.refs:
        return None
    strs = [x for x in names.atoms if isinstance(x, M.Str)]
    if not strs:
        return []
    out = []
    for x in strs:
        if x.values is None:
            return None
        out += [v for v in sorted(x.values) if M.str_ok(x, v)]
    return list(dict.fromkeys(out))


def _extra(em, a: M.Obj, declared: list[str]):
    """The rule for one extra `"key": value` member, or None when none may appear."""
    s_all = None
    for _, s in a.patterns:
        s_all = M.meet(s_all, s)
    key_any = None
    if a.names is None:
        key_any = not_strings(declared) if declared else "string-body"
    else:
        strs = None if a.names.refs or isinstance(a.names, M.Ref) else [
            x for x in a.names.atoms if isinstance(x, M.Str)]
        if strs is None:
            raise Undecidable("propertyNames given by a recursive $ref")
        keys = [_names_but(em, x, declared) for x in strs]
        key_any = " | ".join(k for k in keys if k) or None
    alts = []
    v_any = M.meet(a.additional, s_all)
    if key_any and not _empty(v_any):
        alts.append(f'({key_any}) space ":" space {em.node(v_any, "extra")}')
    if a.patterns and a.names is None and (a.additional is not None):
        if not _empty(s_all):
            for p, _ in a.patterns:
                if any(M.pattern_search(p, k) for k in declared):
                    continue
                try:
                    key = '"\\"" ' + regex_to_gbnf_body(p) + ' "\\""'
                except Exception as e:     # the keys it matches are then extra keys only
                    em.narrowed(f"patternProperties {p!r} offers no keys of its own ({e})")
                    continue
                alts.append(f'{key} space ":" space {em.node(s_all, "pat")}')
    if not alts:
        return None
    return em.add("extra", " | ".join(alts))


def _names_but(em, x: M.Str, declared: list[str]):
    """A key expression for the names atom x other than the declared keys; None (with a
    narrowing) when x asserts pattern, format or length and accepts a declared key too."""
    taken = [k for k in declared if M.str_ok(x, k)]
    if not taken:
        return str_expr(em, x)
    if x.values is not None or not (x.patterns or x.formats or x.min_len or x.max_len is not None):
        return str_expr(em, replace(x, excluded=x.excluded | frozenset(taken)))
    em.narrowed("propertyNames accepting declared keys: no other keys offered")
    return None


def _ordered(em, members, extra, lo: int, hi) -> str:
    """Members in order, then extras; lo..hi properties. Extra keys may repeat one another (a
    grammar cannot keep them apart), so towards minProperties they count once at most."""
    n = len(members)
    m_cap = lo if hi is None else hi                 # counts beyond these change nothing
    e_cap = min(lo, 1) if hi is None else hi
    if (n + 1) * (m_cap + 1) * (e_cap + 1) * 2 > MAX_STATES:
        raise Undecidable("minProperties/maxProperties with too many states")
    memo: dict = {}

    def seq(i: int, m: int, e: int, comma: bool) -> str:
        key = (i, m, e, comma)
        if key in memo:
            return memo[key]
        name = memo[key] = em.reserve("obj")
        sep = '"," space ' if comma else ""
        room = hi is None or m + e < hi
        alts = []
        if i == n:
            if m + min(e, 1) >= lo:
                alts.append('"}"')
            if extra is not None and room:
                alts.append(f"{sep}{extra} {seq(i, m, min(e + 1, e_cap), True)}")
        else:
            kv, req = members[i]
            if room:
                alts.append(f"{sep}{kv} {seq(i + 1, min(m + 1, m_cap), e, True)}")
            if not req:
                alts.append(seq(i + 1, m, e, comma))
        em.define(name, " | ".join(alts) if alts else em.NEVER)
        return name
    return seq(0, 0, 0, False)


def _any_order(em, members, extra) -> str:
    required = frozenset(i for i, (_, r) in enumerate(members) if r)
    memo: dict = {}

    def state(used: frozenset, comma: bool) -> str:
        if (used, comma) in memo:
            return memo[used, comma]
        name = memo[used, comma] = em.reserve("obj")
        sep = '"," space ' if comma else ""
        alts = ['"}"'] if required <= used else []
        for i, (kv, _) in enumerate(members):
            if i not in used:
                alts.append(f"{sep}{kv} {state(used | {i}, True)}")
        if extra is not None:
            alts.append(f"{sep}{extra} {state(used, True)}")
        em.define(name, " | ".join(alts))
        return name
    return state(frozenset(), False)
