"""Grammar-constrained generation end to end on SmolLM2-135M: every schema of the schema table
(tests/test_grammar_schema.py) sampled at temperature 0.8 with two seeds; each completed output
must parse as JSON and validate with the jsonschema package."""

import json

import jsonschema
import pytest

import llmrt
from test_grammar_schema import CASES

V = jsonschema.Draft202012Validator
MAX_TOKENS = 96


@pytest.fixture(scope="module")
def llm(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=512)


def test_schema_table_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("index", range(len(CASES)))
def test_sampled_outputs_validate(llm, index):
    schema = CASES[index][0]
    grammar = llmrt.Grammar.from_json_schema(schema)
    prompts = ["Answer with JSON only.\n", "Here is a JSON value:\n"]
    outs = [llm.generate_tokens(p, max_tokens=MAX_TOKENS, grammar=grammar, temperature=0.8, seed=seed)
            for p, seed in zip(prompts, (1, 2))]
    for out in outs:
        if out.finish_reason == "length":
            # the grammar was still open when the token budget ran out: the prefix must be valid
            assert grammar.accepts_prefix(out.text), (schema, out.text)
            continue
        value = json.loads(out.text)
        assert V(schema, format_checker=V.FORMAT_CHECKER).is_valid(value), (schema, out.text)


def test_generate_accepts_json_mode_and_response_format(llm):
    text = llm.generate("A JSON object:", max_tokens=48, grammar="json", temperature=0)
    json.loads(text)
    text = llm.generate("A person:", max_tokens=64, temperature=0, response_format={
        "type": "json_schema", "json_schema": {"schema": {
            "type": "object", "properties": {"name": {"type": "string", "maxLength": 12}},
            "required": ["name"]}}})
    assert "name" in json.loads(text)
    with pytest.raises(llmrt.GrammarError):
        llm.generate("x", max_tokens=4, response_format={"type": "xml"})
