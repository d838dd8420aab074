"""Real-world schemas (data/schema_corpus/, from SchemaStore): most compile, and documents
generated under a sample of them by SmolLM2-135M validate with the jsonschema package."""

import json
import pathlib

import jsonschema
import pytest

import llmrt
from llmrt.errors import GrammarError
from llmrt.grammar import Grammar

CORPUS = pathlib.Path(__file__).parent / "data" / "schema_corpus"
COMPILED_FLOOR = 0.95          # share of the corpus that compiles; raise as coverage grows
SAMPLE = ["chart.json", "codecov.json", "helmfile.json"]
FINISHED: dict = {}


def corpus():
    return sorted(CORPUS.glob("*.json"))


def test_corpus_size():
    assert len(corpus()) >= 100
    assert sum(p.stat().st_size for p in corpus()) < 3 << 20


def test_corpus_compiles_or_refuses_cleanly():
    ok = 0
    for path in corpus():
        try:
            Grammar.from_json_schema(json.loads(path.read_text(encoding="utf-8")))
            ok += 1
        except GrammarError:
            pass
    assert ok / len(corpus()) >= COMPILED_FLOOR, ok


@pytest.fixture(scope="module")
def llm(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=1024)


@pytest.mark.parametrize("name", SAMPLE)
def test_generated_documents_validate(llm, name):
    schema = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    grammar = Grammar.from_json_schema(schema)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    check = cls(schema, format_checker=cls.FORMAT_CHECKER)
    prompt = f"A JSON document for {schema.get('title', name)}:\n"
    finished = 0
    for seed in (1, 2):
        out = llm.generate_tokens(prompt, max_tokens=200, grammar=grammar, temperature=0.7,
                                  seed=seed)
        if out.finish_reason == "length":
            assert grammar.accepts_prefix(out.text), out.text
            continue
        finished += 1
        errors = [e.message for e in check.iter_errors(json.loads(out.text))]
        assert not errors, (name, out.text, errors)
    FINISHED[name] = finished


def test_some_documents_finished():
    """Outputs cut by the token budget are only checked as prefixes: enough must finish."""
    assert len(FINISHED) == len(SAMPLE) and sum(FINISHED.values()) >= 2, FINISHED
