"""$ref resolution inside one schema document: $id bases, $anchor names, JSON pointers.

Only resources found in the document are resolved; any other URI (a remote schema, the
meta-schema) raises GrammarError naming it.
"""

from __future__ import annotations

import re
import urllib.parse

from ...errors import GrammarError

ROOT_BASE = "https://llmrt.invalid/root.json"   # base URI of a root schema without $id

SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_ONE = ("not", "if", "then", "else", "contains", "additionalProperties", "propertyNames",
              "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def join(base: str, ref: str) -> str:
    if _SCHEME.match(ref):
        return ref
    if ref.startswith("#"):
        return base.partition("#")[0] + ref
    if "://" in base:
        return urllib.parse.urljoin(base, ref)
    raise GrammarError(f"JSON schema: $ref {ref!r} is relative to {base!r}, which has no "
                       "hierarchical path")


class Index:
    def __init__(self, root):
        self.resources: dict[str, object] = {}
        self.anchors: dict[str, object] = {}
        self.dynamic: dict[str, list] = {}      # $dynamicAnchor name -> schemas declaring it
        self.base_of: dict[int, str] = {}
        self.pointer_of: dict[int, str] = {}
        self._walk(root, ROOT_BASE, "")
        self.resources.setdefault(ROOT_BASE, root)

    def _walk(self, s, base: str, ptr: str) -> None:
        if not isinstance(s, dict):
            return
        sid = s.get("$id")
        if isinstance(sid, str):
            uri = join(base, sid)
            doc, _, frag = uri.partition("#")
            if doc != base.partition("#")[0] or not frag:
                base = doc
                self.resources[doc] = s
            if frag and not frag.startswith("/"):     # draft 7 "$id": "#name" is an anchor
                self.anchors[f"{doc}#{frag}"] = s
        self.base_of[id(s)] = base
        self.pointer_of.setdefault(id(s), ptr)
        for kw in ("$anchor", "$dynamicAnchor"):
            if isinstance(s.get(kw), str):
                self.anchors[f"{base}#{s[kw]}"] = s
        if isinstance(s.get("$dynamicAnchor"), str):
            self.dynamic.setdefault(s["$dynamicAnchor"], []).append(s)
        for kw, v in s.items():
            p = f"{ptr}/{_escape(kw)}"
            if kw in SCHEMA_MAPS and isinstance(v, dict):
                for k, sub in v.items():
                    self._walk(sub, base, f"{p}/{_escape(k)}")
            elif kw in SCHEMA_LISTS and isinstance(v, list):
                for i, sub in enumerate(v):
                    self._walk(sub, base, f"{p}/{i}")
            elif kw == "items" and isinstance(v, list):
                for i, sub in enumerate(v):
                    self._walk(sub, base, f"{p}/{i}")
            elif kw in SCHEMA_ONE or kw == "items":
                self._walk(v, base, p)
            elif kw == "dependencies" and isinstance(v, dict):
                for k, sub in v.items():
                    self._walk(sub, base, f"{p}/{_escape(k)}")

    def base(self, schema, default: str) -> str:
        return self.base_of.get(id(schema), default)

    def resolve(self, ref: str, base: str):
        """(target schema, its base URI, its JSON pointer for messages)."""
        uri = join(base, ref)
        doc, _, frag = uri.partition("#")
        frag = urllib.parse.unquote(frag)
        if frag and not frag.startswith("/"):
            target = self.anchors.get(f"{doc}#{frag}")
            if target is None:
                raise GrammarError(f"JSON schema: $ref {ref!r} names no $anchor in this schema")
        else:
            target = self.resources.get(doc)
            if target is None:
                raise GrammarError(f"JSON schema: $ref {ref!r} points outside this schema "
                                   "(remote references are not fetched)")
            for part in [p for p in frag.split("/")[1:]]:
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                elif isinstance(target, dict) and part in target:
                    target = target[part]
                else:
                    raise GrammarError(f"JSON schema: $ref {ref!r} does not resolve")
        return target, self.base_of.get(id(target), doc), self.pointer_of.get(id(target), frag)


def _escape(k: str) -> str:
    return str(k).replace("~", "~0").replace("/", "~1")
