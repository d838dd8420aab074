"""JSON Schema -> GBNF.

Supported: type (incl. lists), properties, required, additionalProperties (bool/schema), enum,
const, anyOf, oneOf, allOf (of objects), $ref into $defs/definitions (nested refs too),
items, prefixItems, minItems/maxItems, minLength/maxLength, pattern (regex subset),
format date/time/date-time/uuid, minimum/maximum/exclusiveMinimum/exclusiveMaximum for
integers. Annotation keywords (title, description, ...) are ignored; every other keyword raises
GrammarError naming it. Properties are emitted in declaration order; an object without
`additionalProperties` but with `properties` admits only the declared keys (as llama.cpp).
"""

from __future__ import annotations

import json
import re

from ..errors import GrammarError
from .regex import regex_to_gbnf_body

SPACE = r'''space ::= | " " | "\n" [ \t]{0,20}'''

PRIMITIVES = r'''
value ::= object | array | string | number | boolean | null
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? "}" space
array ::= "[" space ( value ("," space value)* )? "]" space
string ::= "\"" char* "\"" space
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt/] | "u" [0-9a-fA-F]{4})
number ::= integral-part ("." [0-9]+)? ([eE] [-+]? [0-9]+)? space
integral-part ::= "-"? ([0] | [1-9] [0-9]{0,15})
integer ::= integral-part space
boolean ::= ("true" | "false") space
null ::= "null" space
'''

FORMATS = {
    # real calendar days (Feb 29 only in leap years); years 1000-9999
    "date": r'( [1-9] [0-9]{3} "-" ( ( "0" [13578] | "1" [02] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )'
            r' | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" )'
            r' | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) )'
            r' | ( [1-9] [0-9] ( [02468] [48] | [13579] [26] | [2468] "0" )'
            r' | ( [13579] [26] | [2468] [048] ) "00" ) "-02-29" )',
    "time": r'( [01] [0-9] | [2] [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? '
            r'( "Z" | ( "+" | "-" ) ( [01] [0-9] | [2] [0-3] ) ":" [0-5] [0-9] )',
    "uuid": r'[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" '
            r'[0-9a-fA-F]{12}',
}
FORMATS["date-time"] = FORMATS["date"] + ' "T" ' + FORMATS["time"]

ANNOTATIONS = {"title", "description", "$schema", "$id", "$comment", "examples", "default",
               "deprecated", "readOnly", "writeOnly", "$defs", "definitions"}
HANDLED = {"type", "properties", "required", "additionalProperties", "enum", "const", "anyOf",
           "oneOf", "allOf", "$ref", "items", "prefixItems", "minItems", "maxItems",
           "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
           "exclusiveMinimum", "exclusiveMaximum"}
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")


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


def json_lit(value) -> str:
    return lit(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


class SchemaConverter:
    def __init__(self, root_schema: dict):
        self.root = root_schema
        self.rules: dict[str, str] = {}
        self.ref_rules: dict[str, str] = {}

    # ---- rule bookkeeping ------------------------------------------------------------
    def add(self, name: str, body: str) -> str:
        name = re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-") or "r"
        base, i = name, 0
        while name in self.rules and self.rules[name] != body:
            i += 1
            name = f"{base}{i}"
        self.rules[name] = body
        return name

    def gbnf(self) -> str:
        lines = [f"{k} ::= {v}" for k, v in self.rules.items()]
        return "\n".join(lines) + "\n" + PRIMITIVES + SPACE + "\n"

    # ---- dispatch --------------------------------------------------------------------
    def visit(self, schema, name: str) -> str:
        """Return a GBNF expression (usually a rule name) for `schema`, including trailing space."""
        if schema is True or schema == {}:
            return "value"
        if schema is False:
            raise GrammarError("JSON schema: `false` schema (matches nothing) is not supported")
        if not isinstance(schema, dict):
            raise GrammarError(f"JSON schema: expected an object, got {schema!r}")
        unknown = sorted(set(schema) - HANDLED - ANNOTATIONS)
        if unknown:
            raise GrammarError(f"JSON schema: unsupported keyword(s) {', '.join(unknown)} at '{name}'")
        if "$ref" in schema:
            extra = set(schema) - ANNOTATIONS - {"$ref"}
            if extra:
                raise GrammarError(f"JSON schema: keywords {sorted(extra)} beside $ref are not supported")
            return self.ref(schema["$ref"])
        if "const" in schema:
            return self.add(name, json_lit(schema["const"]) + " space")
        if "enum" in schema:
            vals = schema["enum"]
            if not isinstance(vals, list) or not vals:
                raise GrammarError("JSON schema: enum must be a non-empty list")
            return self.add(name, "(" + " | ".join(json_lit(v) for v in vals) + ") space")
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.any_of(schema, key, name)
        if "allOf" in schema:
            return self.all_of(schema, name)
        t = schema.get("type")
        if isinstance(t, list):
            alts = [self.visit({**schema, "type": x}, f"{name}-{x}") for x in t]
            return self.add(name, " | ".join(alts))
        if t is None:
            if "properties" in schema or "additionalProperties" in schema:
                t = "object"
            elif "items" in schema or "prefixItems" in schema:
                t = "array"
            elif any(k in schema for k in ("pattern", "minLength", "maxLength", "format")):
                t = "string"
            else:
                self._check_only(schema, set(), name)
                return "value"
        if t not in TYPES:
            raise GrammarError(f"JSON schema: unknown type {t!r} at '{name}'")
        return getattr(self, "type_" + t)(schema, name)

    def _check_only(self, schema: dict, allowed: set, name: str) -> None:
        bad = sorted(set(schema) & HANDLED - allowed - {"type"})
        if bad:
            raise GrammarError(f"JSON schema: keyword(s) {', '.join(bad)} not supported "
                               f"for type {schema.get('type', 'any')!r} at '{name}'")

    # ---- references and combinators -----------------------------------------------------
    def ref(self, ref: str) -> str:
        if ref in self.ref_rules:
            return self.ref_rules[ref]
        if not ref.startswith("#"):
            raise GrammarError(f"JSON schema: only local $ref ('#/...') is supported, got {ref!r}")
        target = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise GrammarError(f"JSON schema: $ref {ref!r} does not resolve")
            target = target[part]
        rname = re.sub(r"[^A-Za-z0-9-]+", "-", ref[1:]).strip("-") or "root-ref"
        rname = self.add("ref-" + rname, "")   # reserve the name; recursion refers to it
        self.ref_rules[ref] = rname
        self.rules[rname] = self.visit(target, rname + "-body")
        return rname

    def any_of(self, schema: dict, key: str, name: str) -> str:
        subs = schema[key]
        rest = {k: v for k, v in schema.items() if k != key and k not in ANNOTATIONS}
        alts = []
        for i, sub in enumerate(subs):
            if rest:   # properties etc. beside anyOf apply to every branch
                sub = self.merge(rest, sub, name)
            alts.append(self.visit(sub, f"{name}-{i}"))
        return self.add(name, " | ".join(alts))

    def resolve(self, schema):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 64:
            ref = schema["$ref"]
            target = self.root
            for part in [p for p in ref.lstrip("#").split("/") if p]:
                if not isinstance(target, dict) or part not in target:
                    raise GrammarError(f"JSON schema: $ref {ref!r} does not resolve")
                target = target[part]
            schema, seen = target, seen + 1
        return schema

    def merge(self, a: dict, b, name: str) -> dict:
        """Object-schema intersection used by allOf and by properties beside anyOf."""
        b = self.resolve(b)
        if b is True or b == {}:
            return dict(a)
        if not isinstance(b, dict):
            raise GrammarError(f"JSON schema: cannot combine {b!r} at '{name}'")
        out = dict(a)
        for k, v in b.items():
            if k == "properties":
                out["properties"] = {**out.get("properties", {}), **v}
            elif k == "required":
                out["required"] = list(dict.fromkeys(list(out.get("required", [])) + list(v)))
            elif k in out and out[k] != v and k not in ANNOTATIONS:
                if k in ("anyOf", "oneOf", "allOf"):
                    raise GrammarError(f"JSON schema: nested {k} inside allOf/anyOf merge at '{name}'")
                raise GrammarError(f"JSON schema: conflicting '{k}' in combined schemas at '{name}'")
            else:
                out[k] = v
        return out

    def all_of(self, schema: dict, name: str) -> str:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for sub in schema["allOf"]:
            sub = self.resolve(sub)
            if isinstance(sub, dict) and sub.get("type", "object") != "object":
                raise GrammarError("JSON schema: allOf is supported only for object schemas")
            merged = self.merge(merged, sub, name)
        merged.setdefault("type", "object")
        return self.visit(merged, name)

    # ---- types ---------------------------------------------------------------------------
    def type_null(self, schema, name):
        self._check_only(schema, set(), name)
        return "null"

    def type_boolean(self, schema, name):
        self._check_only(schema, set(), name)
        return "boolean"

    def type_number(self, schema, name):
        self._check_only(schema, set(), name)
        return "number"

    def type_integer(self, schema, name):
        self._check_only(schema, {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}, name)
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if "exclusiveMinimum" in schema:
            lo = _int_bound(schema["exclusiveMinimum"], "exclusiveMinimum", 1, lo, max)
        if "exclusiveMaximum" in schema:
            hi = _int_bound(schema["exclusiveMaximum"], "exclusiveMaximum", -1, hi, min)
        if lo is None and hi is None:
            return "integer"
        import math
        lo = None if lo is None else math.ceil(lo)
        hi = None if hi is None else math.floor(hi)
        if lo is not None and hi is not None and lo > hi:
            raise GrammarError(f"JSON schema: empty integer range [{lo}, {hi}] at '{name}'")
        from .intrange import int_range_gbnf
        return self.add(name, "(" + int_range_gbnf(lo, hi) + ") space")

    def type_string(self, schema, name):
        self._check_only(schema, {"minLength", "maxLength", "pattern", "format"}, name)
        if "pattern" in schema:
            if any(k in schema for k in ("minLength", "maxLength", "format")):
                raise GrammarError("JSON schema: pattern combined with minLength/maxLength/format "
                                   "is not supported")
            return self.add(name, '"\\"" ' + regex_to_gbnf_body(schema["pattern"]) + ' "\\"" space')
        if "format" in schema:
            fmt = schema["format"]
            if fmt not in FORMATS:
                raise GrammarError(f"JSON schema: string format {fmt!r} is not supported")
            if "minLength" in schema or "maxLength" in schema:
                raise GrammarError("JSON schema: format with minLength/maxLength is not supported")
            return self.add(name, '"\\"" ' + FORMATS[fmt] + ' "\\"" space')
        lo = int(schema.get("minLength", 0))
        hi = schema.get("maxLength")
        if hi is None and lo == 0:
            return "string"
        rep = f"{{{lo},}}" if hi is None else f"{{{lo},{int(hi)}}}"
        return self.add(name, '"\\"" char' + rep + ' "\\"" space')

    def type_array(self, schema, name):
        self._check_only(schema, {"items", "prefixItems", "minItems", "maxItems"}, name)
        lo = int(schema.get("minItems", 0))
        hi = schema.get("maxItems")
        hi = None if hi is None else int(hi)
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", True if not prefix else schema.get("items", True))
        if hi is not None and lo > hi:
            raise GrammarError(f"JSON schema: minItems > maxItems at '{name}'")
        elems = [self.visit(s, f"{name}-{i}") for i, s in enumerate(prefix)]
        tail = None if items is False else self.visit(items, f"{name}-item")
        if tail is None:
            hi = len(prefix) if hi is None else min(hi, len(prefix))
        # element k (0-based) is elems[k] for k < len(prefix), else tail
        # rule seq(k) = the elements from k on, at least max(lo-k,0), at most hi-k
        body = self._array_seq(elems, tail, lo, hi, name)
        return self.add(name, '"[" space ' + body + ' "]" space')

    def _array_seq(self, elems, tail, lo, hi, name) -> str:
        """Elements k.. of an array with prefix `elems`, then `tail` items, lo..hi in all."""
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

    def type_object(self, schema, name):
        self._check_only(schema, {"properties", "required", "additionalProperties"}, name)
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        missing = required - set(props)
        addl = schema.get("additionalProperties", None if props else True)
        if missing and (addl is None or addl is False):
            raise GrammarError(f"JSON schema: required {sorted(missing)} not in properties at '{name}'")
        members = []
        for key, sub in props.items():
            vrule = self.visit(sub, f"{name}-{key}")
            kv = self.add(f"{name}-{key}-kv", f'{json_lit(key)} space ":" space {vrule}')
            members.append((kv, key in required))
        for key in sorted(missing):   # required but only allowed via additionalProperties
            vrule = self.visit(addl if isinstance(addl, dict) else True, f"{name}-{key}")
            members.append((self.add(f"{name}-{key}-kv", f'{json_lit(key)} space ":" space {vrule}'), True))
        extra = None
        if addl is not None and addl is not False:
            vrule = self.visit(addl, f"{name}-additional")
            krule = self.add(f"{name}-extra-key", self._not_keys(sorted(set(props) | missing)))
            extra = self.add(f"{name}-extra-kv", f'{krule} ":" space {vrule}')
        body = self._members(members, extra, name)
        return self.add(name, '"{" space ' + body + ' "}" space')

    def _members(self, members, extra, name) -> str:
        n = len(members)
        memo: dict = {}

        def seq(i: int, comma: bool) -> str:
            if (i, comma) in memo:
                return memo[i, comma]
            sep = '"," space ' if comma else ""
            if i == n:
                if extra is None:
                    out = ""
                elif comma:
                    out = f'("," space {extra})*'
                else:
                    out = f'({extra} ("," space {extra})*)?'
            else:
                kv, req = members[i]
                taken = f"{sep}{kv} {seq(i + 1, True)}".strip()
                if req:
                    out = taken
                else:
                    skip = seq(i + 1, comma)
                    out = self.add(f"{name}-m{i}{'c' if comma else ''}",
                                   f"{taken} | {skip}" if skip else f"{taken} | \"\"")
            memo[i, comma] = out
            return out
        return seq(0, False)

    def _not_keys(self, keys: list[str]) -> str:
        """A JSON string key (with quotes and trailing space) equal to none of `keys`."""
        if not keys:
            return "string"
        trie: dict = {}
        for k in keys:
            node = trie
            for ch in k:
                node = node.setdefault(ch, {})
            node[""] = True

        def node_rule(node, depth) -> str:
            chars = sorted(c for c in node if c)
            alts = []
            if chars:
                excl = "".join(_class_escape(c) for c in chars)
                alts.append(f'[^"\\\\\\x7F\\x00-\\x1F{excl}] char*')
                alts.append('[\\\\] (["\\\\bfnrt/] | "u" [0-9a-fA-F]{4}) char*')
            else:
                alts.append("char+")
            for c in chars:
                alts.append(f"{lit(c)} {node_rule(node[c], depth + 1)}")
            if "" not in node:
                alts.append("")
            return "(" + " | ".join(a if a else '""' for a in alts) + ")"
        return '"\\"" ' + node_rule(trie, 0) + ' "\\"" space'


def _class_escape(c: str) -> str:
    if c in "\\]^-[\"":
        return "\\" + c
    if ord(c) < 0x20:
        return f"\\x{ord(c):02X}"
    return c


def _int_bound(v, key, delta, other, pick):
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise GrammarError(f"JSON schema: {key} must be a number")
    import math
    b = (math.floor(v) + 1) if delta > 0 else (math.ceil(v) - 1)
    return b if other is None else pick(b, other)


def schema_to_gbnf(schema) -> str:
    if isinstance(schema, (str, bytes)):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as e:
            raise GrammarError(f"JSON schema is not valid JSON: {e}") from None
    conv = SchemaConverter(schema)
    top = conv.visit(schema, "root-value")
    conv.rules = {"root": f"space {top}", **{k: v for k, v in conv.rules.items() if k != "root"}}
    return conv.gbnf()
