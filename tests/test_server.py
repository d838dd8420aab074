"""`llmrt serve` as a real process on the real SmolLM2 model, driven by the official openai
client: completions, chat, streaming, structured output, tools, errors, cancellation."""

from __future__ import annotations

import json
import signal
import time

import pytest

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
jsonschema = pytest.importorskip("jsonschema")

from server_process import ServerProcess  # noqa: E402

API_KEY = "test-key"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city", "unit"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a time zone",
    "parameters": {"type": "object", "properties": {"zone": {"type": "string", "maxLength": 40}},
                   "required": ["zone"]}}}
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]


@pytest.fixture(scope="module")
def server(smollm2_path):
    srv = ServerProcess(str(smollm2_path), "-c", "4096", "-np", "8", "-t", "2", "--alias", "smollm2",
                        api_key=API_KEY)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    return server.openai(max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def tokenizer(smollm2_path):
    from llmrt import GGUFFile
    from llmrt.tokenizer import Tokenizer

    md = GGUFFile(smollm2_path).metadata
    return Tokenizer.from_metadata(md), md


def wait_idle(server, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        m = server.metrics()
        if m["llmrt_requests_active"] == 0 or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


# ---- endpoints ------------------------------------------------------------------------------

def test_models_health_tokenize(server, client, tokenizer):
    assert [m.id for m in client.models.list().data] == ["smollm2"]
    assert httpx.get(server.base + "/health").json() == {"status": "ok"}
    tok, _ = tokenizer
    r = httpx.post(server.base + "/tokenize", json={"content": "Hello world"}, headers=server.headers).json()
    assert r["tokens"] == tok.tokenize("Hello world", add_special=False)
    back = httpx.post(server.base + "/detokenize", json={"tokens": r["tokens"]}, headers=server.headers).json()
    assert back["content"] == "Hello world"


def test_completion_and_usage(client, tokenizer):
    tok, _ = tokenizer
    prompt = "The capital of France is"
    r = client.completions.create(model="smollm2", prompt=prompt, max_tokens=12, temperature=0, logprobs=3)
    choice = r.choices[0]
    assert choice.finish_reason in ("length", "stop") and choice.text
    assert r.usage.prompt_tokens == len(tok.tokenize(prompt, add_special=True, parse_special=True))
    assert r.usage.completion_tokens == len(choice.logprobs.tokens) <= 12
    assert "".join(choice.logprobs.tokens) == choice.text
    assert all(len(t) == 3 for t in choice.logprobs.top_logprobs)
    # the sampled token is the most likely one at temperature 0
    for lp, top in zip(choice.logprobs.token_logprobs, choice.logprobs.top_logprobs):
        assert lp == pytest.approx(max(top.values()), abs=1e-5)


def test_completion_stream_matches_whole(client):
    kw = dict(model="smollm2", prompt="List three colours:", max_tokens=20, temperature=0)
    whole = client.completions.create(**kw).choices[0].text
    chunks = list(client.completions.create(**kw, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == whole
    assert chunks[-1].usage.completion_tokens > 0 and not chunks[-1].choices
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("length", "stop")


def test_chat_usage_counts_the_template(client, tokenizer):
    from llmrt.chat import render

    tok, md = tokenizer
    r = client.chat.completions.create(model="smollm2", messages=ASK, max_tokens=16, temperature=0,
                                       logprobs=True, top_logprobs=2)
    prompt = render(md["tokenizer.chat_template"], ASK, add_generation_prompt=True)
    assert r.usage.prompt_tokens == len(tok.tokenize(prompt, add_special=True, parse_special=True))
    assert r.usage.completion_tokens == len(r.choices[0].logprobs.content)
    assert "".join(t.token for t in r.choices[0].logprobs.content) == r.choices[0].message.content
    assert r.choices[0].message.role == "assistant"


def test_chat_stream_matches_whole(client):
    kw = dict(model="smollm2", messages=ASK, max_tokens=24, temperature=0)
    whole = client.chat.completions.create(**kw).choices[0].message.content
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(**kw, stream=True)]
    assert "".join(pieces) == whole


def test_seeded_sampling_repeats(client):
    kw = dict(model="smollm2", messages=[{"role": "user", "content": "Write a line about the sea."}],
              max_tokens=32, temperature=0.8, seed=1234)
    a = client.chat.completions.create(**kw).choices[0].message.content
    b = client.chat.completions.create(**kw).choices[0].message.content
    assert a == b


def test_n_choices_and_stop(client):
    r = client.completions.create(model="smollm2", prompt="Count: 1, 2, 3,", max_tokens=24, temperature=0.8,
                                  seed=5, n=3, stop=[" 7"])
    assert [c.index for c in r.choices] == [0, 1, 2]
    for c in r.choices:
        assert " 7" not in c.text


def test_response_format_json_schema(client):
    schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                               "age": {"type": "integer", "minimum": 0, "maximum": 120},
                                               "pets": {"type": "array", "items": {"enum": ["cat", "dog"]},
                                                        "maxItems": 3}},
              "required": ["name", "age", "pets"], "additionalProperties": False}
    rf = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}}
    for temperature in (0.0, 0.8):
        r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Invent a person."}],
                                           response_format=rf, max_tokens=96, temperature=temperature, seed=3)
        assert r.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(r.choices[0].message.content), schema)
    chunks = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "A person?"}],
                                            response_format={"type": "json_object"}, max_tokens=96,
                                            temperature=0.7, seed=9, stream=True)
    json.loads("".join(c.choices[0].delta.content or "" for c in chunks))


# ---- tools ----------------------------------------------------------------------------------

def _check_calls(calls, tools):
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert calls
    for call in calls:
        assert call.type == "function" and call.id
        jsonschema.validate(json.loads(call.function.arguments), schemas[call.function.name])


def test_tool_choice_required(client):
    r = client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER, TIME],
                                       tool_choice="required", max_tokens=80, temperature=0.7, seed=1)
    assert r.choices[0].finish_reason == "tool_calls"
    _check_calls(r.choices[0].message.tool_calls, [WEATHER, TIME])


def test_tool_choice_named(client):
    r = client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER, TIME],
                                       tool_choice={"type": "function", "function": {"name": "get_time"}},
                                       max_tokens=80, temperature=0)
    calls = r.choices[0].message.tool_calls
    _check_calls(calls, [TIME])
    assert [c.function.name for c in calls] == ["get_time"]


def test_tool_call_stream(client):
    chunks = list(client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER],
                                                 tool_choice="required", max_tokens=80, temperature=0,
                                                 stream=True))
    deltas = [c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    _check_calls([d for ds in deltas for d in ds], [WEATHER])
    assert not "".join(c.choices[0].delta.content or "" for c in chunks)


def test_tool_choice_auto_and_history(client):
    """auto: text or a valid call; a conversation holding a call and its result continues."""
    for seed in range(3):
        r = client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER], max_tokens=48,
                                           temperature=1.0, seed=seed)
        msg = r.choices[0].message
        if r.choices[0].finish_reason == "tool_calls":
            _check_calls(msg.tool_calls, [WEATHER])
        else:
            assert "<tool_call>" not in (msg.content or "") or r.choices[0].finish_reason == "length"
    history = ASK + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees, sunny"}]
    r = client.chat.completions.create(model="smollm2", messages=history, tools=[WEATHER], tool_choice="none",
                                       max_tokens=24, temperature=0)
    assert r.choices[0].message.content and not r.choices[0].message.tool_calls


# ---- errors ---------------------------------------------------------------------------------

def test_auth(server):
    bad = server.openai(max_retries=0)
    bad.api_key = "wrong"
    with pytest.raises(openai.AuthenticationError) as e:
        bad.models.list()
    assert e.value.status_code == 401 and e.value.body["type"] == "authentication_error"
    r = httpx.post(server.base + "/v1/completions", json={"prompt": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_bad_requests(server, client):
    with pytest.raises(openai.BadRequestError) as e:   # longer than the context
        client.completions.create(model="smollm2", prompt="word " * 5000, max_tokens=4)
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="smollm2", messages=ASK, temperature=-1)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="smollm2", messages=[{"role": "wizard", "content": "x"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="smollm2", messages=ASK,
                                       response_format={"type": "json_schema", "json_schema": {"schema": {"type": "nope"}}})
    with pytest.raises(openai.UnprocessableEntityError):
        client.completions.create(model="smollm2", prompt="x", max_tokens="many")
    raw = httpx.post(server.base + "/v1/chat/completions", content=b"{not json", headers=server.headers)
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    raw = httpx.post(server.base + "/v1/chat/completions", json={"messages": []}, headers=server.headers)
    assert raw.status_code == 422 and "error" in raw.json()
    # the server still answers
    assert client.completions.create(model="smollm2", prompt="Hi", max_tokens=2).choices[0].text is not None


def test_closed_stream_cancels_and_frees_cells(server, client):
    before = wait_idle(server)
    stream = client.chat.completions.create(model="smollm2", messages=ASK, max_tokens=2000, temperature=0.8,
                                            stream=True)
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    m = before
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = server.metrics()
        if m["llmrt_requests_active"] == 0 and m["llmrt_kv_cells_used"] == 0:
            break
        time.sleep(0.05)
    assert m["llmrt_requests_active"] == 0
    assert m["llmrt_kv_cells_used"] == 0
    assert m["llmrt_requests_cancelled_total"] == before["llmrt_requests_cancelled_total"] + 1
    assert m["llmrt_tokens_generated_total"] - before["llmrt_tokens_generated_total"] < 1000


def test_metrics_text(server):
    m = server.metrics()
    for name in ("llmrt_prompt_tokens_total", "llmrt_completion_tokens_total", "llmrt_queue_depth",
                 "llmrt_kv_cells_used", "llmrt_kv_cells_total", "llmrt_tokens_per_second",
                 "llmrt_requests_running"):
        assert name in m
    assert m["llmrt_kv_cells_total"] == 4096


# ---- a small server: the queue limit and graceful shutdown ------------------------------------

def test_full_queue_503_and_graceful_shutdown(smollm2_path):
    srv = ServerProcess(str(smollm2_path), "-c", "1024", "-np", "1", "--max-queue", "0", "-t", "2")
    try:
        client = srv.openai(max_retries=0, timeout=120)
        stream = client.completions.create(model="x", prompt="Once upon a time", max_tokens=300, temperature=0,
                                           stream=True, extra_body={"ignore_eos": True})
        first = next(iter(stream))
        r = httpx.post(srv.base + "/v1/completions", json={"prompt": "Hello", "max_tokens": 4})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["error"]["type"] == "unavailable_error"
        srv.proc.send_signal(signal.SIGTERM)   # mid-stream: the running request finishes
        rest = list(stream)
        assert rest[-1].choices[0].finish_reason == "length"
        assert len("".join(c.choices[0].text for c in [first] + rest)) > 0
        # uvicorn re-raises the signal once it has shut down cleanly
        assert srv.proc.wait(30) in (0, -signal.SIGTERM)
        with pytest.raises(httpx.ConnectError):
            httpx.get(srv.base + "/health")
    finally:
        srv.stop()
