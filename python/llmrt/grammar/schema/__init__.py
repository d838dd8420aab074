"""JSON Schema -> GBNF, exact where it compiles.

    gbnf, warnings = compile_schema(schema, strict=False, any_order=False)

A schema becomes a union of typed atoms (model.py; complements in negation.py, concrete values
in values.py) built keyword by keyword (build.py, $ref resolution in refs.py), then GBNF
(emit.py with numbers.py, strings.py, arrays.py, objects.py). Every accepted document is valid
against the schema; what cannot be represented exactly is either narrowed to a subset of the
schema's language (a warning "narrowed at '<pointer>' ..." says where and how) or raises
GrammarError naming the keyword and its JSON pointer. See build.py for which keywords are
assertions and which annotations.

Narrowings, each sound because it only removes documents:
- negation.py: a complement alternative that is not representable (pattern, format,
  multipleOf, uniqueItems, additional/pattern properties, propertyNames, recursive $ref) is
  left out by `not`, `oneOf` and `if`/`else`; build.py marks the schema `exact = False` and
  refuses to negate it again (the complement of a subset would be a superset);
- model.py: patternProperties with additionalProperties on both sides of an intersection
  (each pattern also meets the other side's strictest value schema); more than MAX_ATOMS
  alternatives (the first MAX_ATOMS kept);
- arrays.py: uniqueItems over items that are not a small finite set (see there);
- objects.py: propertyNames accepting declared keys, unsupported patternProperties regexes.
Narrowings in emission (arrays.py, objects.py) need no marking: nothing negates GBNF.
"""

from __future__ import annotations

import json

from ...errors import GrammarError
from .build import build
from .emit import to_gbnf


def compile_schema(schema, strict: bool = False, any_order: bool = False):
    """(GBNF text, warnings) for a schema given as a dict, a boolean or JSON text."""
    if isinstance(schema, (str, bytes)):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as e:
            raise GrammarError(f"JSON schema is not valid JSON: {e}") from None
    try:
        node, builder = build(schema, strict)
        text, warnings = to_gbnf(node, builder.recursive, any_order)
        return text, builder.warnings + warnings
    except RecursionError:
        raise GrammarError("JSON schema: nested too deeply to compile") from None


__all__ = ["compile_schema"]
