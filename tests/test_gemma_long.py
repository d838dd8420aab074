"""Gemma-3-270M on a 1708-token prompt against llama.cpp (tests/data/reference_gemma3-270m-long.json,
recorded by `tools/make_reference.py gemma3-270m --long -n 32`).

The prompt is more than three times Gemma 3's 512-token sliding window, and its last paragraph
repeats the first one, so the local layers' window and the global layers' reach (and their
two RoPE bases) all matter. Same criteria and tolerances as tests/test_llama_cpp_parity.py;
the reference keeps every 16th position plus the last 64, each with its "index".
"""

import numpy as np
import pytest

import llmrt
from test_llama_cpp_parity import MARGIN, MAX_ERR, MEAN_ERR, P95_ERR, greedy_agreement, load_reference

ALIAS = "gemma3-270m-long"


@pytest.fixture(scope="module")
def reference():
    return load_reference(ALIAS)["prompts"][0]


@pytest.fixture(scope="module")
def gemma3_long(gemma3_path):
    return llmrt.LLM(gemma3_path, n_ctx=2048)


@pytest.fixture(scope="module")
def long_logits(gemma3_long, reference):
    return gemma3_long.logits(reference["tokens"])


def test_prompt_is_longer_than_the_window(gemma3_long, reference):
    window = gemma3_long.hparams["sliding_window"]
    assert window == 512
    assert len(reference["tokens"]) > 3 * window
    assert gemma3_long.tokenize(reference["prompt"]) == reference["tokens"]


def test_teacher_forced_logits_match_llama_cpp(long_logits, reference):
    errs, rows = [], []
    for pos in reference["positions"]:
        row = long_logits[pos["index"]]
        err = np.max(np.abs(row[pos["top_ids"]] - np.array(pos["top_logits"]))) / (pos["max"] - pos["min"])
        errs.append(err)
        rows.append((pos["index"], pos["margin"], int(np.argmax(row)) == pos["top_ids"][0]))
    errs = np.array(errs)
    beyond = np.array([i >= 512 for i, _, _ in rows])
    assert beyond.sum() > len(rows) // 2
    assert errs.mean() < MEAN_ERR, f"mean top-20 error {errs.mean():.4f} of the logit range"
    assert errs[beyond].mean() < MEAN_ERR  # no drift past the window
    assert np.percentile(errs, 95) < P95_ERR
    assert errs.max() < MAX_ERR, f"worst top-20 error {errs.max():.4f} of the logit range"
    confident = [r for r in rows if r[1] > MARGIN]
    assert len(confident) > len(rows) // 2
    wrong = [i for i, _, ok in confident if not ok]
    assert not wrong, f"argmax differs where llama.cpp is confident, at positions {wrong}"


def test_greedy_continuation_matches_llama_cpp(gemma3_long, reference):
    steps, ok = greedy_agreement(gemma3_long, reference)
    assert ok, f"greedy diverged at step {steps}"
    assert steps >= 3  # llama.cpp's own margin drops below MARGIN at step 3


def test_continuation_past_the_near_tie(gemma3_long, reference):
    """Beyond the first near-tie the greedy paths may split, so feed llama.cpp's continuation
    token by token (decode steps through the cache) and require the same argmax wherever
    llama.cpp is confident."""
    logits = gemma3_long.eval_prefix(reference["tokens"])
    confident = wrong = 0
    for step, expected in enumerate(reference["greedy"]):
        if reference["greedy_margins"][step] > MARGIN:
            confident += 1
            wrong += int(np.argmax(logits)) != expected
        logits = gemma3_long.eval_next(expected)
    assert confident >= 24
    assert wrong == 0, f"{wrong} of {confident} confident steps differ"
