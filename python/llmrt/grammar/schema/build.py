"""Schema objects -> Nodes (model.py).

Each keyword constrains only instances of its own kind (`minimum` says nothing about strings),
so a schema object becomes one atom per kind holding that kind's keywords, intersected with
`type`, `const`/`enum` and every applicator (allOf, anyOf, oneOf, not, if/then/else, $ref,
dependentRequired, dependentSchemas). unevaluatedProperties/unevaluatedItems apply last, to
what the atoms of this schema object evaluated.

Keywords nobody defines are annotations: ignored and reported in `warnings` (or refused when
strict). Keywords the specification defines as assertions or applicators that cannot be
represented exactly raise GrammarError naming the keyword and the JSON pointer, except where
`not`, `oneOf` and `if`/`else` need a complement negation.py can only narrow: then the narrower
language is used (sound: it lies inside the schema's), the warning says where, and the schema
object's node is marked `exact = False` so that nothing negates it again. A oneOf proves its
branches disjoint only when all of them are exact; a branch that would need the complement of
a narrowed branch is left out (a narrowing too).
"""

from __future__ import annotations

from dataclasses import replace

from ...errors import GrammarError
from . import model as M
from .negation import negate
from .model import ANY, FALSE, Undecidable
from .refs import Index, ROOT_BASE
from .strings import FORMATS

MAX_DEPTH = 64

ANNOTATIONS = {"title", "description", "default", "deprecated", "readOnly", "writeOnly",
               "examples", "$comment", "contentEncoding", "contentMediaType", "contentSchema",
               "$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary", "$defs",
               "definitions", "$recursiveAnchor", "format"}
APPLIED = {"type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
           "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
           "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
           "required", "dependentRequired", "properties", "patternProperties",
           "additionalProperties", "propertyNames", "items", "prefixItems", "contains",
           "additionalItems", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
           "dependentSchemas", "dependencies", "unevaluatedItems", "unevaluatedProperties",
           "$ref", "$dynamicRef"}
UNSUPPORTED = {"$recursiveRef"}
TYPES = {"null", "boolean", "object", "array", "number", "integer", "string"}


def _ptr(base: str, key) -> str:
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


class Builder:
    def __init__(self, root, strict: bool = False):
        self.root = root
        self.strict = strict
        self.index = Index(root)
        self.warnings: list[str] = []
        self.refs: dict[int, object] = {}      # id(target) -> Node (finished)
        self.active: set[int] = set()          # ref targets being built
        self.recursive: dict[int, object] = {} # id(target) -> Node, for Ref emission
        self.depth = 0
        self.narrowings = 0                    # how many narrowings so far (see visit)
        self.cur = ""                          # pointer of the schema object being built

    def fail(self, ptr: str, word: str, why: str):
        raise GrammarError(f"JSON schema: {word} at '{ptr or '/'}': {why}")

    # ---- entry ---------------------------------------------------------------------------
    def visit(self, s, ptr: str, base: str):
        if s is True or s == {}:
            return ANY
        if s is False:
            return FALSE
        if not isinstance(s, dict):
            self.fail(ptr, "schema", f"expected an object or boolean, got {type(s).__name__}")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                self.fail(ptr, "nesting", f"schemas nested deeper than {MAX_DEPTH} levels")
            before, outer, self.cur = self.narrowings, self.cur, ptr
            try:
                n = self._visit(s, ptr, self.index.base(s, base))
            finally:
                self.cur = outer
            if self.narrowings != before and isinstance(n, M.Node):
                n.exact = False                # its complement would accept too much
            return n
        finally:
            self.depth -= 1

    def _visit(self, s: dict, ptr: str, base: str):
        for k in s:
            if k in UNSUPPORTED:
                self.fail(ptr, k, "dynamic references are not supported")
            if k not in APPLIED and k not in ANNOTATIONS:
                if self.strict:
                    self.fail(ptr, k, "unknown keyword (strict)")
                self.warnings.append(f"ignored keyword '{k}' at '{ptr or '/'}'")
        n = ANY
        word = "type"
        try:
            n = M.meet(self._type(s, ptr), self._kinds(s, ptr, base))
            if "const" in s:
                word = "const"
                n = M.meet(n, M.from_value(s["const"]))
            if "enum" in s:
                word = "enum"
                if not isinstance(s["enum"], list):
                    self.fail(ptr, "enum", "must be an array")
                n = M.meet(n, M.union([M.from_value(v) for v in s["enum"]]))
            for word in [k for k in s if k in _APPLICATORS]:
                n = M.meet(n, _APPLICATORS[word](self, s, _ptr(ptr, word), base))
            word = "unevaluatedProperties"
            if "unevaluatedProperties" in s:
                u = self.visit(s[word], _ptr(ptr, word), base)
                n = _unevaluated_props(n, u)
            word = "unevaluatedItems"
            if "unevaluatedItems" in s:
                u = self.visit(s[word], _ptr(ptr, word), base)
                n = _unevaluated_items(n, u)
        except Undecidable as e:
            self.fail(ptr, word, str(e))
        if isinstance(n, M.Node):
            n = M.Node(n.atoms, n.refs)
            n.at = ptr
        return n

    # ---- type and per-kind keywords ------------------------------------------------------
    def _type(self, s, ptr):
        t = s.get("type")
        if t is None:
            return ANY
        ts = t if isinstance(t, list) else [t]
        bad = [x for x in ts if x not in TYPES]
        if bad:
            self.fail(ptr, "type", f"unknown type {bad[0]!r}")
        kinds = {("number" if x == "integer" else x) for x in ts}
        return M.kinds_node(kinds, integer_only="integer" in ts and "number" not in ts)

    def _kinds(self, s, ptr, base):
        atoms = [M.Null(), M.Bool(), self._num(s, ptr), self._str(s, ptr),
                 self._arr(s, ptr, base), self._obj(s, ptr, base)]
        return M.node(M.check_empty(a) for a in atoms)

    def _number(self, s, ptr, k):
        v = s[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(ptr, k, "must be a number")
        return M.dec(v)

    def _count(self, s, ptr, k):
        v = s[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v != int(v):
            self.fail(ptr, k, "must be a non-negative integer")
        return int(v)

    def _num(self, s, ptr):
        lo = hi = None
        lo_x = hi_x = False
        for k, is_lo, excl in (("minimum", True, False), ("maximum", False, False),
                               ("exclusiveMinimum", True, True), ("exclusiveMaximum", False, True)):
            if k not in s:
                continue
            if isinstance(s[k], bool):            # draft 4: a flag on minimum/maximum
                if s[k] and excl:
                    if is_lo and lo is not None:
                        lo_x = True
                    elif not is_lo and hi is not None:
                        hi_x = True
                continue
            v = self._number(s, ptr, k)
            if is_lo:
                lo, lo_x = M._lower(lo, lo_x, v, excl)
            else:
                hi, hi_x = M._upper(hi, hi_x, v, excl)
        mult = ()
        if "multipleOf" in s:
            v = self._number(s, ptr, "multipleOf")
            if v <= 0:
                self.fail(ptr, "multipleOf", "must be positive")
            mult = (v,)
        return M.Num(lo=lo, lo_x=lo_x, hi=hi, hi_x=hi_x, mult=mult)

    def _str(self, s, ptr):
        a = M.Str()
        if "minLength" in s:
            a = replace(a, min_len=self._count(s, ptr, "minLength"))
        if "maxLength" in s:
            a = replace(a, max_len=self._count(s, ptr, "maxLength"))
        if "pattern" in s:
            if not isinstance(s["pattern"], str):
                self.fail(ptr, "pattern", "must be a string")
            try:
                M.pattern_search(s["pattern"], "")
            except Undecidable as e:
                self.fail(_ptr(ptr, "pattern"), "pattern", str(e))
            a = replace(a, patterns=(s["pattern"],))
        fmt = s.get("format")
        if fmt is not None:
            if fmt in FORMATS:
                a = replace(a, formats=(fmt,))
            else:
                self.warnings.append(f"format {fmt!r} not asserted at '{ptr or '/'}'")
        return a

    def _arr(self, s, ptr, base):
        a = M.Arr()
        items = s.get("items")
        if isinstance(items, list):                      # draft 2019 and before
            prefix = [self.visit(x, _ptr(_ptr(ptr, "items"), i), base) for i, x in enumerate(items)]
            a = replace(a, prefix=tuple(prefix), ev_prefix=len(prefix))
            if "additionalItems" in s:
                a = replace(a, items=self.visit(s["additionalItems"], _ptr(ptr, "additionalItems"), base),
                            ev_all=True)
        else:
            if "prefixItems" in s:
                if not isinstance(s["prefixItems"], list):
                    self.fail(ptr, "prefixItems", "must be an array")
                prefix = [self.visit(x, _ptr(_ptr(ptr, "prefixItems"), i), base)
                          for i, x in enumerate(s["prefixItems"])]
                a = replace(a, prefix=tuple(prefix), ev_prefix=len(prefix))
            if "items" in s:
                a = replace(a, items=self.visit(items, _ptr(ptr, "items"), base), ev_all=True)
        if "minItems" in s:
            a = replace(a, min_items=self._count(s, ptr, "minItems"))
        if "maxItems" in s:
            a = replace(a, max_items=self._count(s, ptr, "maxItems"))
        if s.get("uniqueItems") is True:
            a = replace(a, unique=True)
        if "contains" in s:
            c = self.visit(s["contains"], _ptr(ptr, "contains"), base)
            lo = self._count(s, ptr, "minContains") if "minContains" in s else 1
            hi = self._count(s, ptr, "maxContains") if "maxContains" in s else None
            a = replace(a, contains=((c, lo, hi),))
        return a

    def _obj(self, s, ptr, base):
        a = M.Obj()
        pats = []
        if "patternProperties" in s:
            pp = _ptr(ptr, "patternProperties")
            for p, sub in s["patternProperties"].items():
                try:
                    M.pattern_search(p, "")
                except Undecidable as e:
                    self.fail(pp, "patternProperties", str(e))
                pats.append((p, self.visit(sub, _ptr(pp, p), base)))
            a = replace(a, patterns=tuple(pats), ev_patterns=tuple(p for p, _ in pats))
        if "properties" in s:
            pp = _ptr(ptr, "properties")
            if not isinstance(s["properties"], dict):
                self.fail(ptr, "properties", "must be an object")
            props = []
            for k, sub in s["properties"].items():
                v = self.visit(sub, _ptr(pp, k), base)
                for p, ps in pats:
                    if M.pattern_search(p, k):
                        v = self._meet(v, ps, pp, "patternProperties")
                props.append((k, v))
            a = replace(a, props=tuple(props), ev_keys=frozenset(s["properties"]))
        if "additionalProperties" in s:
            a = replace(a, additional=self.visit(s["additionalProperties"],
                                                 _ptr(ptr, "additionalProperties"), base),
                        ev_all=True)
        if "propertyNames" in s:
            a = replace(a, names=self.visit(s["propertyNames"], _ptr(ptr, "propertyNames"), base))
        if "required" in s:
            if not isinstance(s["required"], list):
                self.fail(ptr, "required", "must be an array")
            a = replace(a, required=frozenset(s["required"]))
        if "minProperties" in s:
            a = replace(a, min_props=self._count(s, ptr, "minProperties"))
        if "maxProperties" in s:
            a = replace(a, max_props=self._count(s, ptr, "maxProperties"))
        return a

    def narrower(self, ptr: str, word: str):
        """A callback for negate(): records a narrowing at ptr."""
        def narrow(what: str) -> None:
            self.narrowings += 1
            msg = f"narrowed at '{ptr or '/'}' ({word}): {what}"
            if msg not in self.warnings:
                self.warnings.append(msg)
        return narrow

    def _meet(self, x, y, ptr, word):
        try:
            return M.meet(x, y)
        except Undecidable as e:
            self.fail(ptr, word, str(e))

    # ---- applicators -----------------------------------------------------------------------
    def _list(self, s, ptr, base, word):
        subs = s[word]
        if not isinstance(subs, list) or not subs:
            self.fail(ptr, word, "must be a non-empty array")
        return [self.visit(x, _ptr(ptr, i), base) for i, x in enumerate(subs)]

    def all_of(self, s, ptr, base):
        out = ANY
        for n in self._list(s, ptr, base, "allOf"):
            out = M.meet(out, n)
        return out

    def any_of(self, s, ptr, base):
        return M.union(self._list(s, ptr, base, "anyOf"))

    def one_of(self, s, ptr, base):
        subs = self._list(s, ptr, base, "oneOf")
        if len(subs) == 1:
            return subs[0]
        disjoint = all(getattr(x, "exact", True) for x in subs)
        for i in range(len(subs) if disjoint else 0):
            for j in range(i + 1, len(subs)):
                if not M.meet(subs[i], subs[j]).empty:
                    disjoint = False
        if disjoint:
            return M.union(subs)
        narrow = self.narrower(ptr, "oneOf")
        negs = [negate(x, narrow) if getattr(x, "exact", True) else None for x in subs]
        alts = []
        for i, x in enumerate(subs):
            if any(nx is None for j, nx in enumerate(negs) if j != i):
                narrow(f"branch {i}: another branch is narrowed, so its complement is unknown")
                continue                       # leaving a branch out only narrows
            for j, nx in enumerate(negs):
                if j != i:
                    x = M.meet(x, nx)
            alts.append(x)
        return M.union(alts)

    def not_(self, s, ptr, base):
        return negate(self.visit(s["not"], ptr, base), self.narrower(ptr, "not"))

    def if_(self, s, ptr, base):
        cond = self.visit(s["if"], ptr, base)
        then = self.visit(s["then"], ptr[:-2] + "then", base) if "then" in s else ANY
        other = self.visit(s["else"], ptr[:-2] + "else", base) if "else" in s else ANY
        if then.is_any() if isinstance(then, M.Node) else False:
            if other.is_any() if isinstance(other, M.Node) else False:
                return ANY
        return M.union([M.meet(cond, then), M.meet(negate(cond, self.narrower(ptr, "if")), other)])

    def dependent_required(self, s, ptr, base, word="dependentRequired"):
        out = ANY
        for k, req in s[word].items():
            if isinstance(req, list):
                out = M.meet(out, _only_objects([M.Obj(props=((k, FALSE),)),
                                                 M.Obj(required=frozenset([k, *req]))]))
            elif word == "dependencies":
                out = M.meet(out, self._dependent_schema(k, req, _ptr(ptr, k), base))
            else:
                self.fail(ptr, word, "values must be arrays of property names")
        return out

    def _dependent_schema(self, k, sub, ptr, base):
        n = self.visit(sub, ptr, base)
        has = M.meet(_only_objects([M.Obj(required=frozenset([k]))]), n)
        return M.union([_only_objects([M.Obj(props=((k, FALSE),))]), has])

    def dependent_schemas(self, s, ptr, base):
        out = ANY
        for k, sub in s["dependentSchemas"].items():
            out = M.meet(out, self._dependent_schema(k, sub, _ptr(ptr, k), base))
        return out

    def dependencies(self, s, ptr, base):
        return self.dependent_required(s, ptr, base, "dependencies")

    def dynamic_ref(self, s, ptr, base):
        """$dynamicRef as $ref when the dynamic scope cannot change its target: the target
        declares no matching $dynamicAnchor, or the document declares that anchor once."""
        ref = s["$dynamicRef"]
        if not isinstance(ref, str):
            self.fail(ptr, "$dynamicRef", "must be a string")
        target = self._resolve(ref, ptr, base, "$dynamicRef")[0]
        name = ref.partition("#")[2]
        declared = isinstance(target, dict) and target.get("$dynamicAnchor") == name
        if declared and len(self.index.dynamic.get(name, [])) > 1:
            self.fail(ptr, "$dynamicRef", f"anchor {name!r} is declared more than once, so the "
                      "target depends on the dynamic scope")
        return self.ref(s, ptr, base, "$dynamicRef")

    def _resolve(self, ref, ptr, base, word):
        try:
            return self.index.resolve(ref, base)
        except GrammarError as e:
            self.fail(ptr, word, str(e).removeprefix("JSON schema: "))

    def ref(self, s, ptr, base, word="$ref"):
        ref = s[word]
        if not isinstance(ref, str):
            self.fail(ptr, word, "must be a string")
        target, tbase, tptr = self._resolve(ref, ptr, base, word)
        key = id(target)
        if key in self.refs:
            if not getattr(self.refs[key], "exact", True):
                self.narrowings += 1           # the enclosing schema is narrowed too
            return self.refs[key]
        if key in self.active:
            node = M.Ref(key, _kinds_of(target))
            self.recursive[key] = None
            return node
        self.active.add(key)
        try:
            node = self.visit(target, "#" + tptr if not tptr.startswith("#") else tptr, tbase)
        finally:
            self.active.discard(key)
        self.refs[key] = node
        if key in self.recursive:
            self.recursive[key] = node
        return node


_APPLICATORS = {"$ref": Builder.ref, "$dynamicRef": Builder.dynamic_ref, "allOf": Builder.all_of, "anyOf": Builder.any_of,
                "oneOf": Builder.one_of, "not": Builder.not_, "if": Builder.if_,
                "dependentRequired": Builder.dependent_required,
                "dependentSchemas": Builder.dependent_schemas,
                "dependencies": Builder.dependencies}


def _kinds_of(schema):
    """The kinds a schema's `type` allows (None: any or unknown)."""
    t = schema.get("type") if isinstance(schema, dict) else None
    ts = t if isinstance(t, list) else [t] if isinstance(t, str) else None
    if ts is None or not set(ts) <= TYPES:
        return None
    return frozenset("number" if x == "integer" else x for x in ts)


def _only_objects(objs) -> M.Node:
    """Non-objects pass; objects must match one of `objs`."""
    return M.node([M.Null(), M.Bool(), M.Num(), M.Str(), M.Arr(), *objs])


def _unevaluated_props(n, u):
    if isinstance(n, M.Ref) or n.refs:
        raise Undecidable("unevaluatedProperties beside a recursive $ref")
    out = []
    for a in n.atoms:
        if isinstance(a, M.Obj) and not a.ev_all:
            def evaluated(k):
                return k in a.ev_keys or any(M.pattern_search(p, k) for p in a.ev_patterns)
            props = tuple((k, v if evaluated(k) else M.meet(v, u)) for k, v in a.props)
            a = M.check_empty(replace(a, props=props, additional=M.meet(a.additional, u),
                                      ev_all=True))
        out.append(a)
    return M.node(out)


def _unevaluated_items(n, u):
    if isinstance(n, M.Ref) or n.refs:
        raise Undecidable("unevaluatedItems beside a recursive $ref")
    out = []
    for a in n.atoms:
        if isinstance(a, M.Arr) and not a.ev_all:
            prefix = tuple(v if i < a.ev_prefix else M.meet(v, u) for i, v in enumerate(a.prefix))
            a = M.check_empty(replace(a, prefix=prefix, items=M.meet(a.items, u), ev_all=True))
        out.append(a)
    return M.node(out)


def build(schema, strict: bool = False):
    b = Builder(schema, strict)
    key = id(schema)
    b.active.add(key)
    token = M.NARROW.set(lambda what: b.narrower(b.cur, "allOf")(what))
    try:
        node = b.visit(schema, "", ROOT_BASE)
    finally:
        M.NARROW.reset(token)
    b.active.discard(key)
    if key in b.recursive:
        b.recursive[key] = node
    return node, b
