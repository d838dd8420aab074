"""JSON Schema -> grammar: table-driven accept/reject, jsonschema agreement, random walks."""

import json
import pathlib
from decimal import Decimal

import jsonschema
import numpy as np
import pytest

from llmrt.errors import GrammarError
from llmrt.grammar import Grammar

DATA = pathlib.Path(__file__).parent / "data"
D = {"$defs": {"pos": {"type": "integer", "minimum": 1}}}

# (schema, valid instances, invalid instances); every instance is checked with jsonschema too.
CASES = [
    ({"type": "string"}, ["", "a\"b\\n", "é日"], [1, None]),
    ({"type": "integer"}, [0, -5, 123456], [1.5, "1"]),
    ({"type": "number"}, [0, -1.5, 2e10], ["x", True]),
    ({"type": "boolean"}, [True, False], [0, "true"]),
    ({"type": "null"}, [None], [0, "null"]),
    ({"type": ["string", "null"]}, ["x", None], [1]),
    ({"type": ["integer", "boolean"]}, [3, False], [None, "3"]),
    ({"enum": ["red", "green", 3, None]}, ["red", 3, None], ["blue", 4]),
    ({"const": {"a": [1, 2]}}, [{"a": [1, 2]}], [{"a": [1]}]),
    ({"type": "string", "minLength": 2, "maxLength": 4}, ["ab", "abcd"], ["a", "abcde"]),
    ({"type": "string", "minLength": 3}, ["abc", "abcdefgh"], ["ab"]),
    ({"type": "string", "pattern": "^[a-z]+-[0-9]{2}$"}, ["ab-12"], ["ab-1", "AB-12", "ab-123"]),
    ({"type": "string", "pattern": "^(foo|bar)+$"}, ["foo", "barfoo"], ["fo", "foob"]),
    ({"type": "string", "pattern": "^\\d{3}\\.\\w?$"}, ["123.", "123.a"], ["12.a", "123.ab"]),
    ({"type": "string", "pattern": "ab"}, ["ab", "xaby"], ["a", "ba"]),
    ({"type": "string", "pattern": "^a[^b]c$"}, ["axc", "a\"c"], ["abc", "ac"]),
    ({"type": "string", "pattern": "^(?:x|y){2,3}$"}, ["xy", "yyx"], ["x", "xyxy"]),
    ({"type": "string", "format": "date"}, ["2024-02-29"], ["2024-13-01", "24-01-01"]),
    ({"type": "string", "format": "time"}, ["12:30:00Z", "23:59:59.123+01:00"], ["24:00:00Z"]),
    ({"type": "string", "format": "date-time"}, ["2024-01-02T03:04:05Z"], ["2024-01-02 03:04:05Z"]),
    ({"type": "string", "format": "uuid"}, ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567"]),
    ({"type": "integer", "minimum": 0, "maximum": 150}, [0, 99, 150], [-1, 151, 1000]),
    ({"type": "integer", "minimum": -20}, [-20, 0, 99999], [-21, -100]),
    ({"type": "integer", "maximum": -3}, [-3, -1000], [-2, 0, 5]),
    ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}, [1, 9], [0, 10]),
    ({"type": "array", "items": {"type": "integer"}}, [[], [1, 2, 3]], [[1, "a"], {}]),
    ({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
     [["a"], ["a", "b", "c"]], [[], ["a", "b", "c", "d"]]),
    ({"type": "array", "minItems": 2}, [[1, "x"], [None, {}, []]], [[1]]),
    ({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
     [[1, "a"], [1], [], [1, "a", True]], [["a"], [1, 2]]),
    ({"type": "array", "prefixItems": [{"type": "integer"}], "items": False}, [[1], []], [[1, 2]]),
    ({"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "boolean"},
      "minItems": 2, "maxItems": 3}, [[1, True], [1, False, True]], [[1], [1, 2], [1, True, True, True]]),
    ({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
      "required": ["name", "age"]}, [{"name": "a", "age": 3}], [{"name": "a"}, {"age": 3, "name": 1}]),
    ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                                       "c": {"type": "integer"}}, "required": ["b"]},
     [{"b": 1}, {"a": 1, "b": 2}, {"b": 1, "c": 2}, {"a": 1, "b": 2, "c": 3}], [{"a": 1}, {}]),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False},
     [{}, {"a": 1}], [{"a": "x"}, {"b": 1}]),
    ({"type": "object", "properties": {"a": {"type": "string"}},
      "additionalProperties": {"type": "integer"}}, [{"a": "x", "b": 1}, {"bb": 2, "aa": 3}],
     [{"b": "x"}, {"a": 1}]),
    ({"type": "object", "additionalProperties": {"type": "boolean"}}, [{}, {"x": True}], [{"x": 1}]),
    ({"type": "object"}, [{}, {"x": [1, {"y": None}]}], [[], "x"]),
    ({"type": "object", "properties": {"in": {"type": "object", "properties": {
        "deep": {"type": "array", "items": {"type": "object", "properties": {"v": {"enum": [1, 2]}},
                                             "required": ["v"]}}}, "required": ["deep"]}},
      "required": ["in"]}, [{"in": {"deep": [{"v": 1}, {"v": 2}]}}], [{"in": {"deep": [{"v": 3}]}}]),
    ({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]}, [1, "ab"], ["abc", None]),
    ({"oneOf": [{"type": "boolean"}, {"type": "null"}]}, [True, None], [0]),
    ({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string"}}, "required": ["b"]}]},
     [{"a": 1, "b": "x"}], [{"a": 1}, {"b": "x"}]),
    ({"type": "object", "properties": {"kind": {"type": "string"}}, "required": ["kind"],
      "anyOf": [{"properties": {"n": {"type": "integer"}}, "required": ["n"]},
                {"properties": {"s": {"type": "string"}}, "required": ["s"]}]},
     [{"kind": "a", "n": 1}, {"kind": "b", "s": "x"}], [{"kind": "a"}, {"n": 1}]),
    ({**D, "$ref": "#/$defs/pos"}, [1, 50], [0, -1]),
    ({"definitions": {"p": {"type": "object", "properties": {"x": {"$ref": "#/definitions/n"}},
                            "required": ["x"]}, "n": {"type": "number"}},
      "type": "array", "items": {"$ref": "#/definitions/p"}}, [[{"x": 1.5}]], [[{"x": "a"}]]),
    ({"$defs": {"node": {"type": "object", "properties": {
        "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["v"]}}, "$ref": "#/$defs/node"},
     [{"v": 1}, {"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]}], [{"v": 1, "kids": [{}]}]),
    # keywords constrain only their own kind; combinators are exact
    ({"properties": {"a": {"type": "integer"}}}, ["s", 1, {"a": 1}, {"b": "x"}], [{"a": "x"}]),
    ({"allOf": [{}]}, [1, "x", None], []),
    ({"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"a": {"type": "string"}}}]},
     [{}, {"b": 1}, 2], [{"a": "x"}, {"a": 1}]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 2.5, "x"], [3, 7]),
    ({"oneOf": [{"properties": {"k": {"const": "a"}, "n": {"type": "integer"}}, "required": ["k", "n"]},
                {"properties": {"k": {"const": "b"}, "s": {"type": "string"}}, "required": ["k", "s"]}]},
     [{"k": "a", "n": 1}, {"k": "b", "s": "x"}], [{"k": "a", "s": "x"}, {"k": "c"}]),
    ({"not": {"enum": ["a", "b"]}}, ["c", 1, None], ["a", "b"]),
    ({"not": {"type": ["string", "null"]}}, [1, [], {}], ["x", None]),
    ({"type": "object", "not": {"required": ["a"]}}, [{}, {"b": 1}], [{"a": 1}]),
    ({"if": {"properties": {"k": {"const": "n"}}, "required": ["k"]}, "then": {"required": ["n"]},
      "else": {"required": ["s"]}}, [{"k": "n", "n": 1}, {"k": "x", "s": 1}, {"s": 1}],
     [{"k": "n"}, {"k": "x"}, {}]),
    ({"$defs": {"x": {"$anchor": "items", "type": "integer"}}, "$ref": "#items"}, [1], ["a"]),
    ({"$defs": {"x": {"$dynamicAnchor": "t", "type": "integer"}}, "items": {"$dynamicRef": "#t"}},
     [[1]], [["a"]]),
    ({"$id": "https://e.com/root.json", "$defs": {"x": {"$id": "x.json", "type": "string"}},
      "items": {"$ref": "x.json"}}, [["a"]], [[1]]),
    ({"prefixItems": [{"type": "integer"}], "unevaluatedItems": False}, [[1], []], [[1, 2]]),
    ({"not": {"prefixItems": [{"type": "integer"}]}}, [["x"], ["x", 1]], [[], [1], [1, "x"], 1]),
    ({"not": {"prefixItems": [True], "items": False}}, [[1, 2]], [[], [1], "x"]),
    ({"allOf": [{"prefixItems": [True]}, {"unevaluatedItems": False}]}, [[]], [[1]]),
    ({"type": "object", "patternProperties": {"^x-": {"type": "integer"}},
      "additionalProperties": False}, [{}, {"x-a": 1}], [{"x-a": "s"}, {"y": 1}]),
    ({"type": "object", "propertyNames": {"enum": ["a", "b"]}}, [{"a": 1}, {"b": 2}], [{"c": 1}]),
    ({"type": "object", "dependentRequired": {"a": ["b"]}}, [{}, {"b": 1}, {"a": 1, "b": 2}], [{"a": 1}]),
    ({"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}, [{"a": 1, "b": 2}], [{"a": 1}]),
    ({"type": "object", "minProperties": 1, "maxProperties": 2}, [{"a": 1}, {"a": 1, "b": 2}],
     [{}, {"a": 1, "b": 2, "c": 3}]),
    ({"type": "array", "contains": {"type": "string"}, "minContains": 2, "maxContains": 3},
     [["a", "b"], [1, "a", "b", "c"]], [["a"], ["a", "b", "c", "d"]]),
    ({"type": "array", "items": {"enum": [1, 2, "x"]}, "uniqueItems": True},
     [[], [1, 2, "x"]], [[1, 1], [2, "x", 2]]),
    ({"type": "number", "minimum": -1.5, "exclusiveMaximum": 2.25}, [-1.5, 0, 2.2, 1, -0.25],
     [-1.51, 2.25, 3, -2]),
    ({"type": "number", "exclusiveMinimum": 0.1, "maximum": 0.2}, [0.15, 0.2, 0.11], [0.1, 0.21, 0]),
    ({"type": "integer", "multipleOf": 3}, [0, 9, -6], [4, 7]),
    ({"type": "number", "multipleOf": 0.25}, [0.5, 1, 1.25, -2.75], [0.3, 1.1]),
    ({"type": "integer", "multipleOf": 5, "minimum": 0, "maximum": 30}, [0, 25, 30], [35, -5, 3]),
    ({"type": "string", "format": "email"}, ["a.b@example.com"], ["nope"]),
    ({"type": "string", "format": "ipv4"}, ["192.168.0.1"], ["256.1.1.1", "1.2.3"]),
    ({"type": "string", "format": "ipv6"}, ["::1", "fe80::1:2", "1:2:3:4:5:6:7:8"], ["1:2", ":::"]),
    ({"type": "string", "format": "duration"}, ["P1D", "PT5M", "P1Y2M3DT4H"], ["P", "1D"]),
    ({"type": "string", "format": "hostname"}, ["example.com", "a-b.c"], ["-a.com", "a..b"]),
    ({"type": "object", "title": "t", "description": "d",
      "properties": {"x": {"type": "string", "description": "doc"}}}, [{"x": "y"}], [{"x": 1}]),
]


def validator(schema):
    V = jsonschema.Draft202012Validator
    return V(schema, format_checker=V.FORMAT_CHECKER)


def compact(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("i", range(len(CASES)))
def test_schema_accepts_valid_rejects_invalid(i):
    schema, good, bad = CASES[i]
    g = Grammar.from_json_schema(schema)
    for v in good:
        assert validator(schema).is_valid(v), v       # the table itself is right
        texts = [compact(v)]
        if "const" not in schema:   # const/enum values are matched in compact form only
            texts += [json.dumps(v, ensure_ascii=False), json.dumps(v, indent=2)]
        for text in texts:
            assert g.accepts(text), (schema, text)
    for v in bad:
        assert not validator(schema).is_valid(v), v
        assert not g.accepts(compact(v)), (schema, v)
        assert not g.accepts(json.dumps(v)), (schema, v)


def test_at_least_40_schemas():
    assert len(CASES) >= 40


def _random_walk(g: Grammar, rng, max_bytes=400):
    sm = g._sm
    sid, out = sm.initial, bytearray()
    weights = np.ones(256)
    for c in b'"]},:0123456789-tfnab':
        weights[c] = 25.0
    weights[128:] = 0.02
    for _ in range(max_bytes):
        if sm.accepting[sid] and (not sm.has_cont[sid] or rng.random() < 0.3):
            return bytes(out)
        nxt = np.array([sm.step(sid, b) for b in range(256)])
        ok = np.flatnonzero(nxt)
        if len(ok) == 0:
            assert sm.accepting[sid], f"dead end after {bytes(out)!r}"   # every prefix completes
            return bytes(out)
        p = weights[ok] / weights[ok].sum()
        b = int(rng.choice(ok, p=p))
        out.append(b)
        sid = int(nxt[b])
    return None


@pytest.mark.parametrize("i", range(len(CASES)))
def test_random_walks_validate(i):
    schema = CASES[i][0]
    g = Grammar.from_json_schema(schema)
    # numbers are compared as the decimals written (a long one is not rounded to a float)
    exact = validator(json.loads(json.dumps(schema), parse_float=Decimal))
    rng = np.random.default_rng(i)
    done = 0
    for _ in range(30):
        text = _random_walk(g, rng)
        if text is None:
            continue
        try:
            value = json.loads(text.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            pytest.fail(f"walk produced bad JSON {text!r}: {e}")
        assert exact.is_valid(value), (schema, text)
        done += 1
    assert done > 0


@pytest.mark.parametrize("schema,word,pointer", [
    ({"type": "array", "uniqueItems": True, "minItems": 2}, "uniqueItems", "/"),
    ({"type": "string", "pattern": "(?=a)b"}, "lookaround", "/"),
    ({"properties": {"p": {"type": "string", "pattern": "\\bx"}}}, "\\b", "/properties/p"),
    ({"not": {"not": {"type": "string", "pattern": "a"}}}, "narrower than it is", "/"),
    ({"if": {"not": {"multipleOf": 3}}, "then": {"type": "integer"}}, "narrower than it is", "/"),
    ({"$defs": {"a": {"$id": "a", "$dynamicAnchor": "x"}, "b": {"$id": "b", "$dynamicAnchor": "x"}},
      "items": {"$dynamicRef": "a#x"}}, "$dynamicRef", "/items/$dynamicRef"),
    ({"type": "integer", "multipleOf": 0.123456789}, "multipleOf", "/"),
    ({"$ref": "https://example.com/s.json"}, "points outside", ""),
    ({"$ref": "#/$defs/missing"}, "does not resolve", ""),
    ({"type": "integer", "minimum": 5, "maximum": 1}, "matches no value", ""),
    ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "matches no value", ""),
])
def test_unsupported_features_raise(schema, word, pointer):
    with pytest.raises(GrammarError) as e:
        Grammar.from_json_schema(schema)
    assert word in str(e.value)
    assert f"at '{pointer}'" in str(e.value) or not pointer


def test_bad_json_text():
    with pytest.raises(GrammarError, match="not valid JSON"):
        Grammar.from_json_schema("{nope")
    assert Grammar.from_json_schema('{"type": "integer"}').accepts("12")


def test_generic_json():
    g = Grammar.json()
    for v in [{}, [], {"a": [1, -2.5e3, "x\\u00e9", True, None, {"b": {}}]}, "s", 0]:
        assert g.accepts(json.dumps(v)) and g.accepts(json.dumps(v, indent=2))
    for s in ["{", "[1,]", '{"a"}', "01", "tru", "'x'"]:
        assert not g.accepts(s)


def test_at_least_as_complete_as_llama_cpp_converter():
    """Instances accepted by llama.cpp's own converter output (recorded) are accepted by ours
    unless they are invalid; everything ours accepts is valid (jsonschema)."""
    ref = json.loads((DATA / "grammar_llama_cpp.json").read_text())["schemas"]
    probes = [None, 0, 7, -3, 1.5, "", "ab", "abcde", "red", "abc-12", "2024-01-31", True,
              [], [1], [1, 2, 3, 4], {"name": "x", "age": 3}, {"name": "x"}, {"a": True},
              {"a": True, "b": None}, {"d": "2024-01-31"}, {"d": "x"}, {}]
    for item in ref:
        ours = Grammar.from_json_schema(item["schema"])
        theirs = Grammar.from_gbnf(item["gbnf"])
        valid = validator(item["schema"])
        for v in probes:
            text = json.dumps(v)
            if ours.accepts(text):
                assert valid.is_valid(v), (item["schema"], text)
            elif theirs.accepts(text):
                assert not valid.is_valid(v), (item["schema"], text)


def test_unknown_keywords_are_warnings_unless_strict():
    schema = {"type": "object", "properties": {"a": {"type": "integer", "example": 3}},
              "x-vendor": True, "readonly": True}
    g = Grammar.from_json_schema(schema)
    assert g.accepts('{"a":3}') and not g.accepts('{"a":"x"}')
    assert any("x-vendor" in w for w in g.warnings)
    assert any("example" in w and "/properties/a" in w for w in g.warnings)
    with pytest.raises(GrammarError, match="x-vendor|readonly"):
        Grammar.from_json_schema(schema, strict=True)


def test_deep_nesting_is_a_grammar_error():
    schema = {"type": "integer"}
    for _ in range(1000):
        schema = {"type": "array", "items": schema}
    with pytest.raises(GrammarError, match="nested"):
        Grammar.from_json_schema(schema)
    deep_ok = {"type": "integer"}
    for _ in range(20):
        deep_ok = {"type": "array", "items": deep_ok}
    assert Grammar.from_json_schema(deep_ok).accepts("[" * 20 + "1" + "]" * 20)


def test_property_order():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
              "required": ["a", "b"], "additionalProperties": False}
    ordered = Grammar.from_json_schema(schema)
    anyorder = Grammar.from_json_schema(schema, any_order=True)
    assert ordered.accepts('{"a":1,"b":"x"}') and not ordered.accepts('{"b":"x","a":1}')
    assert anyorder.accepts('{"a":1,"b":"x"}') and anyorder.accepts('{"b":"x","a":1}')
    assert not anyorder.accepts('{"b":"x"}') and not anyorder.accepts('{"b":"x","a":1,"a":2}')


def test_repeated_extra_keys_do_not_satisfy_min_properties():
    """A grammar cannot keep extra keys apart, so two of them may repeat one key; towards
    minProperties they count once, declared properties fully."""
    g = Grammar.from_json_schema({"type": "object", "properties": {"a": {}}, "minProperties": 2})
    assert g.accepts('{"a":1,"b":2}') and not g.accepts('{"b":1,"b":2}')
    assert not g.accepts('{"a":1}')
