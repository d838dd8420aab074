"""The generation loop: greedy parity with llama.cpp, stop strings, end-of-generation, token-level
results with log-probabilities, the grammar hook, parameter errors."""

import json
from pathlib import Path

import numpy as np
import pytest

import llmrt
from llmrt.generation import StopStringFilter

DATA = Path(__file__).parent / "data"
MARGIN = 0.5  # as tests/test_llama_cpp_parity.py: below this llama.cpp's own choice is noise


@pytest.fixture(scope="module")
def smollm2(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=512)


@pytest.fixture(scope="module")
def gemma3(gemma3_path):
    return llmrt.LLM(gemma3_path, n_ctx=512)


def confident_steps(prompt):
    margins = prompt["greedy_margins"]
    return next((i for i, m in enumerate(margins) if m < MARGIN), len(margins))


@pytest.mark.parametrize("model, alias", [("smollm2", "smollm2-135m"), ("gemma3", "gemma3-270m")])
def test_greedy_generate_matches_llama_cpp(model, alias, request):
    llm = request.getfixturevalue(model)
    checked = 0
    for prompt in json.loads((DATA / f"reference_{alias}.json").read_text())["prompts"]:
        n = min(confident_steps(prompt), 12)
        if n == 0:
            continue
        out = llm.generate_tokens(prompt["tokens"], max_tokens=n, temperature=0)
        assert out.tokens == prompt["greedy"][:n], prompt["prompt"][:40]
        assert out.text == llm.detokenize(out.tokens)
        checked += n
    assert checked >= 5


def test_generate_and_stream_agree(smollm2):
    text = smollm2.generate("The capital of France is", max_tokens=12, temperature=0)
    pieces = list(smollm2.stream("The capital of France is", max_tokens=12, temperature=0))
    assert "".join(pieces) == text and len(pieces) > 3


def test_stop_string_spanning_tokens_is_cut_exactly(smollm2):
    prompt = "Once upon a time"
    full = smollm2.generate_tokens(prompt, max_tokens=16, temperature=0)
    pieces = [smollm2.detokenize(full.tokens[:i]) for i in range(len(full.tokens) + 1)]
    # a stop string starting inside token 3 and ending inside token 6
    start, end = len(pieces[3]) - 1, len(pieces[6]) - 1
    stop = full.text[start:end]
    assert stop and full.text.find(stop) == start
    expected = full.text[:start]
    assert smollm2.generate(prompt, max_tokens=16, temperature=0, stop=[stop, "never-there"]) == expected
    streamed = list(smollm2.stream(prompt, max_tokens=16, temperature=0, stop=stop))
    assert "".join(streamed) == expected
    res = smollm2.generate_tokens(prompt, max_tokens=16, temperature=0, stop=stop)
    assert res.finish_reason == "stop" and res.text == expected


@pytest.mark.parametrize("stops, chunks, out", [
    (["abc"], ["xa", "b", "cz"], "x"),
    (["abc"], ["xa", "bd"], "xabd"),
    (["ab", "bcd"], ["xb", "c", "e"], "xbce"),
    (["\n\n"], ["a\n", "\nb"], "a"),
    ([], ["a", "b"], "ab"),
])
def test_stop_string_filter(stops, chunks, out):
    f = StopStringFilter(stops)
    got = "".join(f.feed(c) for c in chunks)
    if not f.stopped:
        got += f.flush()
    assert got == out


def test_end_of_generation_token_stops(smollm2):
    eos = smollm2.tokenizer.eos_id
    res = smollm2.generate_tokens("Hello", max_tokens=8, temperature=0, logit_bias={eos: 100.0})
    assert res.tokens == [] and res.text == "" and res.finish_reason == "stop"
    res = smollm2.generate_tokens("Hello", max_tokens=3, temperature=0, logit_bias={eos: 100.0},
                                  ignore_eos=True)
    assert len(res.tokens) == 3 and res.finish_reason == "length"


def test_logprobs(smollm2):
    res = smollm2.generate_tokens("The capital of France is", max_tokens=3, temperature=0, logprobs=4)
    assert len(res.logprobs) == len(res.top_logprobs) == 3
    for tok, lp, top in zip(res.tokens, res.logprobs, res.top_logprobs):
        assert len(top) == 4 and top[0][0] == tok and top[0][1] == pytest.approx(lp)
        assert lp <= 0 and all(a[1] >= b[1] for a, b in zip(top, top[1:]))
    # the first step's distribution is the model's: compare with logits() of the prompt
    ids = smollm2.tokenize("The capital of France is", add_special=True, parse_special=True)
    row = smollm2.logits(ids)[-1].astype(np.float64)
    lse = row.max() + np.log(np.exp(row - row.max()).sum())
    assert res.logprobs[0] == pytest.approx(row[res.tokens[0]] - lse, abs=0.05)


def test_seeded_sampling_is_reproducible(smollm2):
    kw = dict(max_tokens=10, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=1234)
    a = smollm2.generate("Once upon a time", **kw)
    b = smollm2.generate("Once upon a time", **kw)
    assert a == b
    c = smollm2.generate("Once upon a time", **{**kw, "seed": 99})
    assert c != a  # different seed, different text (overwhelmingly likely with top_k off)


class FakeGrammar:
    """Allows exactly one token sequence, then is finished (the matcher API of llmrt.grammar)."""

    def __init__(self, tokens, n_vocab):
        self.tokens, self.n_vocab = tokens, n_vocab

    def matcher(self, tokenizer):
        return FakeMatcher(self.tokens, self.n_vocab)


class FakeMatcher:
    def __init__(self, tokens, n_vocab):
        self.tokens, self.i, self.n_vocab = tokens, 0, n_vocab

    def allowed_mask(self):
        mask = np.zeros(self.n_vocab, bool)
        mask[self.tokens[self.i]] = True
        return mask

    def accept(self, token):
        assert token == self.tokens[self.i]
        self.i += 1

    def is_finished(self):
        return self.i == len(self.tokens)


def test_grammar_hook_constrains_and_finishes(smollm2):
    forced = smollm2.tokenize(" purple elephants", add_special=False)
    g = FakeGrammar(forced, smollm2.n_vocab)
    assert smollm2.generate("The capital of France is", max_tokens=20, grammar=g, seed=1) == " purple elephants"
    res = smollm2.generate_tokens("The capital of France is", max_tokens=20, grammar=g, temperature=0)
    assert res.tokens == forced and res.finish_reason == "stop"
    assert "".join(smollm2.stream("Hi", max_tokens=20, grammar=g)) == " purple elephants"


@pytest.mark.parametrize("kwargs, error", [
    (dict(temperature=-1.0), llmrt.SamplingError),
    (dict(top_p=1.5), llmrt.SamplingError),
    (dict(max_tokens=-5), llmrt.SamplingError),
    (dict(no_such_sampler=1), llmrt.SamplingError),
    (dict(stop=[1, 2]), llmrt.SamplingError),
])
def test_impossible_parameters_raise(smollm2, kwargs, error):
    kw = {"max_tokens": 4, **kwargs}
    with pytest.raises(error):
        smollm2.generate("Hello", **kw)
    with pytest.raises(error):
        smollm2.stream("Hello", **kw)  # raised at the call, not at the first piece


def test_prompt_longer_than_context_raises_and_stays_usable(smollm2):
    with pytest.raises(llmrt.ContextError):
        smollm2.generate([1] * smollm2.n_ctx, max_tokens=4)
    with pytest.raises(llmrt.ContextError):
        smollm2.generate("", max_tokens=4)
    assert smollm2.generate("Hello", max_tokens=2, temperature=0)


def test_abandoned_stream_frees_its_sequence(smollm2):
    it = smollm2.stream("Once upon a time", max_tokens=50, temperature=0)
    next(it)
    assert smollm2.stats["running"] == 1
    it.close()
    assert smollm2.stats["running"] == 0 and smollm2.stats["waiting"] == 0
