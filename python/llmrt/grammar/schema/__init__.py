"""JSON Schema -> GBNF, exact where it compiles.

    gbnf, warnings = compile_schema(schema, strict=False, any_order=False)

A schema becomes a union of typed atoms (model.py; complements in negation.py, concrete values
in values.py) built keyword by keyword (build.py, $ref resolution in refs.py), then GBNF
(emit.py with numbers.py, strings.py, arrays.py, objects.py). Every accepted document is valid
against the schema; what cannot be represented exactly raises GrammarError naming the keyword
and its JSON pointer. See build.py for which keywords are assertions and which annotations.
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
