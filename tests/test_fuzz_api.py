"""Arbitrary Python values for every argument of the public API: each call returns normally or
raises an llmrt.LLMRTError subclass, never a TypeError, OverflowError, MemoryError... And each
type has one meaning: str and bytes are text, token ids are integers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import llmrt
from llmrt import Grammar
from llmrt.convert import random_model

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-3, 600),
    st.sampled_from([2**31, 2**32 - 1, 2**63, 2**64, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1.9, -0.0, math.nan, math.inf]),
    st.text(max_size=8), st.binary(max_size=8), st.sampled_from([b"12", "12", "x", "", b""]),
    st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)), st.builds(np.float32, st.floats(width=32)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers(-2, 600)), inner, max_size=3),
    st.lists(st.integers(0, 511), min_size=1, max_size=4).map(np.array),
), max_leaves=6)

SAMPLING_NAMES = ["temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_penalty",
                  "presence_penalty", "frequency_penalty", "repeat_last_n", "seed", "mirostat",
                  "mirostat_tau", "logit_bias", "min_keep", "n_probs", "samplers", "ignore_eos",
                  "dry_multiplier", "xtc_probability", "dynatemp_range", "top_n_sigma"]
CALL_NAMES = ["max_tokens", "stop", "grammar", "logprobs", "response_format"]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "tiny.gguf"
    return random_model.write_random(out, None, "llama", "q8_0", seed=5, threads=1, progress=False,
                                     hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vocab=512,
                                     context=256)


@pytest.fixture(scope="module")
def llm(model_path):
    return llmrt.LLM(model_path, n_ctx=64, n_threads=1, n_parallel=2, device="cpu")


def returns_or_raises_llmrt_error(call):
    try:
        call()
    except llmrt.LLMRTError:
        pass


@SETTINGS
@given(tokens=values)
def test_logits(llm, tokens):
    returns_or_raises_llmrt_error(lambda: llm.logits(tokens))


@SETTINGS
@given(text=values, add_special=values, parse_special=values)
def test_tokenize(llm, text, add_special, parse_special):
    returns_or_raises_llmrt_error(lambda: llm.tokenize(text, add_special=add_special, parse_special=parse_special))


@SETTINGS
@given(ids=values)
def test_detokenize(llm, ids):
    returns_or_raises_llmrt_error(lambda: llm.detokenize(ids))


@SETTINGS
@given(prompt=values)
def test_generate_prompt(llm, prompt):
    returns_or_raises_llmrt_error(lambda: llm.generate(prompt, max_tokens=2, temperature=0))


@SETTINGS
@given(name=st.sampled_from(SAMPLING_NAMES + CALL_NAMES), value=values)
def test_generate_keyword(llm, name, value):
    if name == "max_tokens" and (value is None or (isinstance(value, (int, np.integer)) and (value == -1 or value > 3))):
        value = 2   # no or a large limit: with context shift a generation could run for ever
    kwargs = {"max_tokens": 2, "temperature": 0, name: value}
    returns_or_raises_llmrt_error(lambda: llm.generate("Hi", **kwargs))
    returns_or_raises_llmrt_error(lambda: list(llm.stream([1, 2], **kwargs)))


@SETTINGS
@given(messages=values)
def test_chat_messages(llm, messages):
    returns_or_raises_llmrt_error(lambda: llm.chat(messages, max_tokens=2, temperature=0))


@SETTINGS
@given(name=st.sampled_from(["n_ctx", "n_threads", "n_batch", "n_seq_max", "n_parallel", "n_cells",
                             "n_keep", "kv_type", "kv_type_k", "kv_type_v", "device", "n_gpu_layers",
                             "model"]), value=values)
def test_llm_arguments(model_path, name, value):
    kwargs = {"n_ctx": 64, "n_threads": 1, "device": "cpu", name: value}
    path = kwargs.pop("model", model_path)
    if name == "n_threads" and isinstance(value, int) and value > 8:
        value = kwargs["n_threads"] = 8   # valid, but a thread per unit on a shared machine
    returns_or_raises_llmrt_error(lambda: llmrt.LLM(path, **kwargs))


gbnf_pieces = st.sampled_from(['root', ' ::= ', '"a"', '[a-z]', '{', '}', '3', '99999999999', ',', '*',
                               '+', '?', '|', '(', ')', '\n', 'x', ' ', '\\', '"', '.', '[^', ']', '#'])


@SETTINGS
@given(text=st.one_of(values, st.lists(gbnf_pieces, max_size=12).map("".join)))
def test_grammar_from_gbnf(text):
    returns_or_raises_llmrt_error(lambda: Grammar.from_gbnf(text))


# ---- the cases a hostile user found, and one meaning per type --------------------------------

@pytest.mark.parametrize("call, error", [
    (lambda llm: llm.logits([2**63]), llmrt.ContextError),
    (lambda llm: llm.logits([1.9]), llmrt.ContextError),
    (lambda llm: llm.logits([True]), llmrt.ContextError),
    (lambda llm: llm.logits(b"12"), llmrt.ContextError),
    (lambda llm: llm.logits("12"), llmrt.ContextError),
    (lambda llm: llm.detokenize([None]), llmrt.TokenizerError),
    (lambda llm: llm.detokenize([1.0]), llmrt.TokenizerError),
    (lambda llm: llm.generate("Hi", logit_bias={"x": 1.0}), llmrt.SamplingError),
    (lambda llm: llm.generate("Hi", logit_bias={5: "big"}), llmrt.SamplingError),
    (lambda llm: llm.generate("Hi", stop=5), llmrt.SamplingError),
    (lambda llm: llm.generate("Hi", logprobs="3"), llmrt.SamplingError),
    (lambda llm: llm.generate([1, None]), llmrt.ContextError),
])
def test_bad_arguments_raise_typed_errors(llm, call, error):
    with pytest.raises(error):
        call(llm)


def test_bytes_are_utf8_text_everywhere(llm):
    assert llm.tokenize(b"12") == llm.tokenize("12")
    assert llm.generate(b"12", max_tokens=3, temperature=0) == llm.generate("12", max_tokens=3, temperature=0)
    assert llm.generate([b"12", "34"], max_tokens=2, temperature=0) == \
        llm.generate(["12", "34"], max_tokens=2, temperature=0)


def test_logit_bias_takes_decimal_string_ids(llm):
    ids = llm.generate_tokens("Hi", max_tokens=2, temperature=0).tokens
    banned = llm.generate_tokens("Hi", max_tokens=2, temperature=0, logit_bias={str(ids[0]): -math.inf}).tokens
    assert banned[0] != ids[0]


@pytest.mark.parametrize("n_ctx", [-1, -4096, 1.5, "4096", None, 2**40])
def test_bad_n_ctx_raises_context_error(model_path, n_ctx):
    with pytest.raises(llmrt.ContextError):
        llmrt.LLM(model_path, n_ctx=n_ctx, n_threads=1, device="cpu")


def test_n_ctx_zero_is_the_training_context(model_path):
    llm = llmrt.LLM(model_path, n_ctx=0, n_threads=1, device="cpu")
    assert llm.n_ctx == llm.n_ctx_train == 256


@pytest.mark.parametrize("text", ['root ::= "a"{99999999999}', 'root ::= "a"{5000}{5000}', "root ::= ",
                                  'root ::= "a" x\nx ::= \n'])
def test_oversized_or_empty_grammars_raise_grammar_error(text):
    with pytest.raises(llmrt.GrammarError):
        Grammar.from_gbnf(text)


def test_empty_alternatives_and_empty_literals_stay_valid():
    Grammar.from_gbnf('root ::= "a" | ')
    Grammar.from_gbnf('root ::= ""')
    Grammar.from_gbnf('root ::= [0-9]{0,1000}')
