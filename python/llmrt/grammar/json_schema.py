"""JSON Schema -> GBNF text (the compiler lives in grammar/schema/)."""

from __future__ import annotations

from .schema import compile_schema


def schema_to_gbnf(schema, strict: bool = False, any_order: bool = False) -> str:
    return compile_schema(schema, strict, any_order)[0]


__all__ = ["schema_to_gbnf", "compile_schema"]
