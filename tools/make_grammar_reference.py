"""Record what llama.cpp's JSON-schema converter (as shipped in llama-cpp-python) produces for a
few schemas into tests/data/grammar_llama_cpp.json: outputs of their program, used as reference
results. (llama.cpp's grammar files themselves are not copied here; test_grammar_examples.py reads
them from a llama-cpp-python source package when one is on the machine.)
Run with: /opt/lcpp/bin/python tools/make_grammar_reference.py
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
    "schemas": [{"schema": s, "gbnf": lg.json_schema_to_gbnf(json.dumps(s))} for s in SCHEMAS],
}
path = pathlib.Path(__file__).resolve().parent.parent / "tests/data/grammar_llama_cpp.json"
path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print("wrote", path)
