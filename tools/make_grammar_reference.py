"""Record llama.cpp's grammars (shipped in llama-cpp-python's llama_grammar.py, copies of
llama.cpp's grammars/ folder) and its JSON-schema converter's output into
tests/data/grammar_llama_cpp.json.   Run with: /opt/lcpp/bin/python tools/make_grammar_reference.py
"""
import json
import pathlib

from llama_cpp import llama_grammar as lg

SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
     "required": ["name", "age"]},
    {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3},
    {"enum": ["red", "green", 3, None]},
    {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}}},
    {"type": "string", "minLength": 2, "maxLength": 4},
    {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    {"type": "string", "pattern": "^[a-z]+-[0-9]{2}$"},
    {"type": "object", "properties": {"d": {"type": "string", "format": "date"}}, "required": ["d"]},
]

out = {
    "grammars": {name.lower(): getattr(lg, name) for name in
                 ("ARITHMETIC_GBNF", "C_GBNF", "CHESS_GBNF", "JAPANESE_GBNF", "JSON_ARR_GBNF",
                  "JSON_GBNF", "LIST_GBNF")},
    "schemas": [{"schema": s, "gbnf": lg.json_schema_to_gbnf(json.dumps(s))} for s in SCHEMAS],
}
path = pathlib.Path(__file__).resolve().parent.parent / "tests/data/grammar_llama_cpp.json"
path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print("wrote", path)
