"""Tool calling pieces without a server: the reply parser, the streamed-content filter, the call
grammar, and the lazy grammar that switches on at `<tool_call>` inside a Request."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("fastapi")

from llmrt.generation import LazyGrammar, Request  # noqa: E402
from llmrt.sampling import SamplingParams, build_chain  # noqa: E402
from llmrt.server.tools import (ContentFilter, call_grammar, parse_calls, parse_tools,  # noqa: E402
                                plan_tools, prepare_messages)

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_parse_calls():
    text = 'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    content, calls = parse_calls(text)
    assert content == "Let me look."
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo"}
    two = text + '\n<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>'
    assert [json.loads(c["function"]["arguments"])["city"] for c in parse_calls(two)[1]] == ["Oslo", "Rome"]
    # a second call cut short is dropped; no complete call at all is plain content
    assert len(parse_calls(text + '\n<tool_call>{"name": "get_wea')[1]) == 1
    assert parse_calls('<tool_call>{"name": "get_wea') is None
    assert parse_calls("no call here") is None


def test_content_filter_holds_back_the_opener():
    f = ContentFilter()
    pieces = ["Sure", ", <to", "ol_", "call>", '{"name"', "}</tool_call>"]
    out = [f.feed(p) for p in pieces]
    assert out == ["Sure", ", ", "", "", "", ""]
    assert f.call_text == '<tool_call>{"name"}</tool_call>'
    g = ContentFilter()
    assert g.feed("a <t") == "a " and g.feed("able>") == "<table>" and g.flush() == ""


def test_call_grammar_accepts_only_the_tools():
    g = call_grammar(parse_tools([WEATHER]), parallel=False)
    assert g.accepts('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>')
    assert not g.accepts('<tool_call>{"name": "get_time", "arguments": {"city": "Oslo"}}</tool_call>')
    assert not g.accepts('<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>')
    call = '<tool_call>{"name": "get_weather", "arguments": {"city": "a"}}</tool_call>'
    assert not g.accepts(call + call)
    assert call_grammar(parse_tools([WEATHER]), parallel=True).accepts(call + "\n" + call)


def test_generic_prompt_and_history():
    plan = plan_tools([WEATHER], "auto", False, template="{{ messages }}")
    assert plan.lazy is not None and plan.grammar is None and not plan.native
    msgs = prepare_messages([
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "content": "cold"}], plan)
    assert msgs[0]["content"].startswith("Be brief.") and '"get_weather"' in msgs[0]["content"]
    assert msgs[1]["content"] == '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    assert msgs[2] == {"role": "user", "content": "<tool_response>\ncold\n</tool_response>"}
    assert plan_tools([WEATHER], "required", False, None).grammar is not None
    assert plan_tools([WEATHER], "none", False, None).lazy is None


def test_lazy_grammar_switches_on_at_the_trigger(smollm2_path):
    from llmrt import GGUFFile
    from llmrt.tokenizer import Tokenizer

    tok = Tokenizer.from_metadata(GGUFFile(smollm2_path).metadata)
    grammar = call_grammar(parse_tools([WEATHER]), parallel=False)
    # a Request needs no model: a sampler chain, a detokenizer and the end-of-generation ids
    req = Request([1, 2, 3], build_chain(SamplingParams(temp=0.0), tok.n_vocab), None, tok.streaming_detokenizer(),
                  eog_ids=tok.eog_ids, max_tokens=64, lazy_grammar=LazyGrammar(grammar, ("<tool_call>",)),
                  make_matcher=lambda g: g.matcher(tok))
    forced = tok.tokenize("I will check.<tool_call>", add_special=False)
    for t in forced:   # logits that make each forced token the argmax
        assert req.matcher is None
        logits = np.zeros(tok.n_vocab, np.float32)
        logits[t] = 10.0
        req.on_logits(logits)
    assert req.generated == forced
    assert req.matcher is not None          # switched on by the last token
    mask = req.matcher.allowed_mask()
    assert mask[tok.tokenize("\n", add_special=False)[0]] or mask[tok.tokenize("{", add_special=False)[0]]
    assert not mask[tok.tokenize("Hello", add_special=False)[0]]
    # from here a token the grammar forbids cannot be sampled, however likely
    logits = np.zeros(tok.n_vocab, np.float32)
    logits[tok.tokenize("Hello", add_special=False)[0]] = 50.0
    req.on_logits(logits)
    new = tok.detokenize(req.generated[len(forced):])
    assert "Hello" not in new and grammar.accepts_prefix("<tool_call>" + new)
