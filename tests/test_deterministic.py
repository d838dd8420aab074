"""LLM(deterministic=True): a sequence's logits are the same bits alone and inside batches of
1-15 other sequences of other lengths (prefill and decode, contexts long enough that attention
splits its cells)."""

from __future__ import annotations

import pytest

import llmrt

FILLER = ("The committee met on Tuesday to review the budget, the schedule and the staffing plan "
          "for the coming year, and agreed to publish the minutes. ")


def _prompts(k: int) -> list[str]:
    return [FILLER * (2 + (i * 7) % 9) + f"Question {i}: what happens next?" for i in range(k)]


def _steps(llm, prompts: list[str]):
    """The first prompt's sampled tokens and their top-5 log-probabilities, with the others
    decoded in the same steps."""
    llm.reset()
    out = llm.generate_tokens(prompts, max_tokens=12, temperature=0, logprobs=5, ignore_eos=True)[0]
    return out.tokens, out.top_logprobs


@pytest.mark.parametrize("model", ["smollm2_path", "gemma3_path"])
def test_logits_do_not_depend_on_the_batch(model, request):
    path = request.getfixturevalue(model)
    llm = llmrt.LLM(path, n_ctx=2048, n_threads=2, n_batch=256, deterministic=True)
    target = FILLER * 6 + "So the committee decided"
    alone = _steps(llm, [target])
    for k in (1, 3, 7, 15):
        assert _steps(llm, [target] + _prompts(k)) == alone, f"differs with {k} other sequences"


def test_mixture_of_experts(tmp_path):
    from llmrt.convert import random_model

    path = random_model.write_random(tmp_path / "moe.gguf", None, "mixtral", "q8_0", seed=2, progress=False,
                                     hidden=128, layers=2, heads=4, kv_heads=2, ffn=128, vocab=512,
                                     context=2048, experts=6, experts_used=3)
    llm = llmrt.LLM(path, n_ctx=2048, n_threads=2, n_batch=256, deterministic=True)
    target = FILLER * 6 + "So the committee decided"
    alone = _steps(llm, [target])
    for k in (1, 7):
        assert _steps(llm, [target] + _prompts(k)) == alone, f"differs with {k} other sequences"


def test_flag_is_checked():
    with pytest.raises(llmrt.LLMRTError):
        llmrt.LLM("/nonexistent.gguf", deterministic="yes")
