"""The batch engine on real models: batched greedy equals one-at-a-time (with chunked prefill,
prefix-cache hits, preemption and a context shift), concurrent streams, prefix reuse.

Batching changes the float summation order only; 8-bit activation quantization turns such noise
into small logit differences that can flip a near-tie (see test_llama_cpp_parity.py). So tokens
are compared up to the first step whose top-2 margin (in the lone run) is below MARGIN, and the
first step's log-probabilities tightly."""

import threading

import numpy as np
import pytest

import llmrt

MARGIN = 0.5
PROMPTS = ["The capital of France is", "1, 2, 3, 4, 5,",
           "Once upon a time, in a small village by the sea, there lived",
           "def add(a, b):\n    return"]
# eight different prompts of different lengths, generated together
PROMPTS8 = PROMPTS + ["The three primary colours are", "Water boils at a temperature of",
                      "My favourite book is", "Q: What is 7 times 6?\nA:"]


@pytest.fixture(scope="module")
def smollm2(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=256)


@pytest.fixture(scope="module")
def smollm2_chunked(smollm2_path):
    # tiny batches: prompts are prefilled over several steps next to running decodes
    return llmrt.LLM(smollm2_path, n_ctx=256, n_batch=7)


def alone(llm, prompt, n):
    llm.reset()
    return llm.generate_tokens(prompt, max_tokens=n, temperature=0, logprobs=2)


def agree_until_near_tie(ref, got):
    """Tokens equal up to the first step where ref's top-2 margin is below MARGIN."""
    for step, (a, b) in enumerate(zip(ref.tokens, got.tokens)):
        top = ref.top_logprobs[step]
        if top[0][1] - top[1][1] < MARGIN:
            return step
        assert a == b, f"step {step}: {a} != {b}"
    assert len(got.tokens) == len(ref.tokens) or got.finish_reason == "stop"
    return len(ref.tokens)


def check_batched_equals_alone(llm, prompts, n, min_checked):
    refs = [alone(llm, p, n) for p in prompts]
    llm.reset()
    steps0 = llm.stats["steps"]
    got = llm.generate_tokens(prompts, max_tokens=n, temperature=0, logprobs=2)
    steps = llm.stats["steps"] - steps0
    checked = 0
    for ref, g in zip(refs, got):
        checked += agree_until_near_tie(ref, g)
        # first step: the same distribution up to the noise floor. Batch shape decides which
        # matmul kernel runs (unpacked prefill kernel from 4 tokens), and with 8-bit activation
        # quantization a summation-order difference cascades to ~1-3% of the logit range
        # (tests/test_llama_cpp_parity.py's docstring), i.e. a few tenths of a logit here.
        ids = dict(ref.top_logprobs[0])
        for tok, lp in g.top_logprobs[0]:
            if tok in ids:
                assert abs(lp - ids[tok]) < 0.6
    assert checked >= min_checked
    return steps


def test_batched_greedy_equals_alone(smollm2):
    steps = check_batched_equals_alone(smollm2, PROMPTS8, 8, 16)
    assert steps <= 9  # one decode call per step carries all eight sequences


def test_batched_with_chunked_prefill(smollm2_chunked):
    steps = check_batched_equals_alone(smollm2_chunked, PROMPTS8, 6, 12)
    assert steps > 6  # prompts of up to 15 tokens took several steps of 7


def test_batched_gemma3(gemma3_path):
    llm = llmrt.LLM(gemma3_path, n_ctx=128)
    check_batched_equals_alone(llm, PROMPTS8, 5, 10)


def test_prefix_cache_reuses_shared_prefix(smollm2):
    system = ("<|im_start|>system\nYou are a helpful assistant who answers in one short sentence."
              "<|im_end|>\n<|im_start|>user\n")
    a = system + "Name a colour.<|im_end|>\n<|im_start|>assistant\n"
    b = system + "Name a fruit.<|im_end|>\n<|im_start|>assistant\n"
    ref = alone(smollm2, b, 4)
    smollm2.reset()
    smollm2.generate(a, max_tokens=2, temperature=0)
    before = smollm2.stats
    res = smollm2.generate_tokens(b, max_tokens=4, temperature=0, logprobs=2)
    after = smollm2.stats
    n_prompt = len(smollm2.tokenize(b, parse_special=True))
    decoded = after["prompt_tokens_decoded"] - before["prompt_tokens_decoded"]
    assert after["prefix_hits"] == before["prefix_hits"] + 1
    assert res.stats.prompt_tokens_cached >= len(smollm2.tokenize(system, parse_special=True)) - 1
    assert decoded == n_prompt - res.stats.prompt_tokens_cached < n_prompt // 2
    agree_until_near_tie(ref, res)


def test_prefix_cache_with_batched_requests(smollm2):
    """Requests sharing a prefix inside one batch: the later ones copy the earlier's cells."""
    base = "Once upon a time, in a small village by the sea, there lived"
    prompts = [base + " a", base + " an", base + " the"]
    refs = [alone(smollm2, p, 4) for p in prompts]
    smollm2.reset()
    smollm2.generate(base, max_tokens=1, temperature=0)
    hits = smollm2.stats["prefix_hits"]
    got = smollm2.generate_tokens(prompts, max_tokens=4, temperature=0, logprobs=2)
    assert smollm2.stats["prefix_hits"] - hits == 3
    for ref, g in zip(refs, got):
        agree_until_near_tie(ref, g)


def test_preemption_when_cells_run_out(smollm2_path):
    llm = llmrt.LLM(smollm2_path, n_ctx=64, n_cells=64)
    prompts = PROMPTS[1:3]
    refs = [alone(llm, p, 24) for p in prompts]
    llm.reset()
    got = llm.generate_tokens(prompts, max_tokens=24, temperature=0, logprobs=2)
    assert llm.stats["preemptions"] >= 1
    for ref, g in zip(refs, got):
        agree_until_near_tie(ref, g)


def test_context_shift_keeps_generating(smollm2_path):
    llm = llmrt.LLM(smollm2_path, n_ctx=20, n_keep=2)
    res = llm.generate_tokens("1, 2, 3, 4, 5,", max_tokens=30, temperature=0)
    assert len(res.tokens) == 30 and res.finish_reason == "length"
    assert res.stats.context_shifts >= 2 and llm.stats["context_shifts"] >= 2
    # batched sequences shift independently and still match their lone runs
    prompts = ["1, 2, 3, 4, 5,", "The capital of France is"]
    refs = [alone(llm, p, 24) for p in prompts]
    llm.reset()
    got = llm.generate_tokens(prompts, max_tokens=24, temperature=0, logprobs=2)
    assert all(g.stats.context_shifts >= 1 for g in got)
    for ref, g in zip(refs, got):
        agree_until_near_tie(ref, g)
    off = llmrt.LLM(smollm2_path, n_ctx=24, context_shift=False)
    with pytest.raises(llmrt.ContextError):
        off.generate("1, 2, 3, 4, 5,", max_tokens=40, temperature=0)
    assert off.generate("1, 2,", max_tokens=3, temperature=0)  # still usable


def test_concurrent_streams_from_threads(smollm2):
    smollm2.reset()
    refs = {p: alone(smollm2, p, 6) for p in PROMPTS[:3]}
    smollm2.reset()
    results, errors = {}, []

    def worker(p):
        try:
            results[p] = "".join(smollm2.stream(p, max_tokens=6, temperature=0))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    steps0 = smollm2.stats["steps"]
    threads = [threading.Thread(target=worker, args=(p,)) for p in PROMPTS[:3]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for p, ref in refs.items():
        n = agree_until_near_tie(ref, ref)  # confident prefix length of the lone run
        lone_text = smollm2.detokenize(ref.tokens[:n])
        assert results[p].startswith(lone_text)
    assert smollm2.stats["steps"] - steps0 <= 3 * 7
    assert smollm2.stats["running"] == 0


def test_direct_api_coexists_with_engine(smollm2):
    ids = smollm2.tokenize("The capital of France is")
    smollm2.reset()
    a = smollm2.eval_prefix(ids)
    smollm2.generate(PROMPTS[1], max_tokens=3, temperature=0)
    b = smollm2.eval_next(int(np.argmax(a)))
    smollm2.reset()
    ref = smollm2.logits(ids + [int(np.argmax(a))])[-1]
    # one-token decode vs batched prefill: different kernels, same noise floor as
    # tests/test_llama_cpp_parity.py (a broken cache would be off by far more)
    assert np.abs(b - ref).max() < 0.06 * np.ptp(ref)


def test_stats_report_memory(smollm2):
    st = smollm2.stats
    h = smollm2.hparams
    assert st["kv_bytes_per_token"] == h["n_layer"] * h["n_head_kv"] * (h["head_dim_k"] + h["head_dim_v"]) * 2
    assert st["n_cells"] == 256 and st["kv_bytes"] == 256 * st["kv_bytes_per_token"]
