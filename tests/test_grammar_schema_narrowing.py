"""JSON Schema constructs compiled to a narrower language than the schema's: every document the
grammar accepts validates, some valid documents are rejected, and a warning says where."""

import json
from decimal import Decimal

import jsonschema
import numpy as np
import pytest

from llmrt.grammar import Grammar
from test_grammar_schema import _random_walk

# (schema, accepted (valid), valid but narrowed away, invalid, warning text)
CASES = [
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True},
     [[], ["a"]], [["a", "b"]], [["a", "a"], [1]], "uniqueItems where the items are not a finite"),
    ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True, "minItems": 1},
     [[3]], [[1, 2]], [[], [1, 1]], "arrays of at most one item"),
    ({"type": "array", "prefixItems": [{"type": "integer"}], "uniqueItems": True},
     [[], [1]], [[1, "x"]], [["x"], [1, 1]], "with prefixItems or contains"),
    ({"type": "array", "items": {"enum": list(range(10))}, "uniqueItems": True},
     [[0, 7], [7, 0, 1]], [[9], [8, 0]], [[0, 0], [10]], "uniqueItems over 10 values"),
    ({"type": "object", "propertyNames": {"maxLength": 3}, "properties": {"ab": {"type": "integer"}}},
     [{"ab": 1}, {}], [{"x": 1}], [{"ab": "x"}, {"abcd": 1}], "propertyNames accepting declared"),
    ({"type": "object", "patternProperties": {"^(?!x)[a-z]+$": {"type": "integer"}},
      "additionalProperties": {"type": "integer"}},
     [{"ab": 1}], [], [{"ab": "s"}, {"X": "s"}], "offers no keys of its own"),
    ({"not": {"type": "string", "pattern": "^a"}},
     [1, None, {}], ["b"], ["a", "abc"], "(not): negation of pattern/format left out"),
    ({"oneOf": [{"type": "string", "pattern": "^a.+$"}, {"type": ["string", "null"], "maxLength": 1}]},
     ["abc", None], ["a", "b"], ["bcd", 1], "(oneOf): negation of pattern/format left out"),
    ({"oneOf": [{"type": "object", "required": ["a"], "additionalProperties": {"type": "integer"}},
                {"type": "object", "required": ["b"]}]},
     [{"a": 1}, {"b": 1}], [{"a": 1, "b": "x"}], [{"a": 1, "b": 2}, {}],
     "(oneOf): negation of patternProp"),
    ({"if": {"type": "integer", "multipleOf": 2}, "then": {"minimum": 0}, "else": {"maximum": 0}},
     [4, 0, -2.5, "x"], [-3], [-4, 3], "(if): negation of multipleOf left out"),
    ({"allOf": [{"type": "object", "patternProperties": {"^a": {"type": "integer"}},
                 "additionalProperties": {"type": "integer", "minimum": 0}},
                {"patternProperties": {"^b": {"maximum": 9}}, "additionalProperties": {"type": "integer"}}]},
     [{"a1": 5, "b": 3, "c": 5}], [{"a1": 50}, {"a1": -5}], [{"c": -1}, {"b": 10}, {"a": "x"}],
     "patternProperties and additionalProperties on both sides"),
    ({"allOf": [{"anyOf": [{"type": "object", "required": [f"a{i}"]} for i in range(17)]},
                {"anyOf": [{"type": "object", "required": [f"b{i}"]} for i in range(17)]}]},
     [{"a0": 1, "b0": 2}, {"a15": 1, "b0": 2}], [{"a16": 1, "b16": 2}], [{"a0": 1}, []],
     "289 alternatives: only the first 256 kept"),
    ({"anyOf": [{"type": "integer"}, {"type": "array", "not": {"uniqueItems": True}}]},
     [1], [[1, 1]], [[], [1, 2], "x"], "(not): negation of uniqueItems"),
]


def _validator(schema):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(json.loads(json.dumps(schema), parse_float=Decimal))


@pytest.mark.parametrize("i", range(len(CASES)))
def test_narrowed_language_is_inside_the_schema(i):
    schema, accepted, narrowed, invalid, warning = CASES[i]
    g = Grammar.from_json_schema(schema)
    check = _validator(schema)
    assert any(warning in w for w in g.warnings), g.warnings
    for v in accepted + narrowed:
        assert check.is_valid(v), v                   # the table itself is right
    for v in accepted:
        assert g.accepts(json.dumps(v)), v
    for v in narrowed + invalid:
        assert not g.accepts(json.dumps(v)), v
    for v in invalid:
        assert not check.is_valid(v), v
    rng = np.random.default_rng(i)
    walks = [w for w in (_random_walk(g, rng) for _ in range(30)) if w is not None]
    assert walks
    for text in walks:
        assert check.is_valid(json.loads(text, parse_float=Decimal)), text


def test_exact_uniqueness_is_not_reported_as_narrowed():
    g = Grammar.from_json_schema({"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True})
    assert g.warnings == [] and g.accepts('["a","b"]') and not g.accepts('["a","a"]')
