"""OpenAI request fields -> llmrt Requests (sampling chain, grammar, stops, token limit)."""

from __future__ import annotations

from ..errors import LLMRTError, SamplingError
from ..generation import LazyGrammar, Request, check_stop
from ..llm import LLM, as_grammar
from ..sampling import SamplingParams
from .errors import APIError, from_llmrt
from .schemas import SamplingFields


def logit_bias(raw: dict | None) -> dict:
    """OpenAI's {"token id": bias}; llama-server's false bans a token."""
    out = {}
    for key, value in (raw or {}).items():
        try:
            tid = int(key)
        except ValueError:
            raise APIError(400, f"logit_bias keys are token ids, got {key!r}", param="logit_bias") from None
        out[tid] = float("-inf") if value is False else float(value)
    return out


def grammar_of(body: SamplingFields):
    if body.grammar is not None:
        return as_grammar(body.grammar)
    if body.json_schema is not None:
        return as_grammar(body.json_schema)
    return as_grammar(None, body.response_format)


def token_limit(llm: LLM, requested: int | None, n_prompt: int) -> int:
    """Generation stops where the context ends (no context shift on the server), or earlier
    when the client asked for fewer; None and -1 mean "up to the context"."""
    room = llm.n_ctx - n_prompt
    if requested is None or requested == -1:
        return room
    if requested < 0:
        raise APIError(400, f"max_tokens must be >= 0 (or -1), got {requested}", param="max_tokens")
    return min(requested, room)


def make_requests(llm: LLM, body: SamplingFields, prompt_ids: list[int], n: int, max_tokens,
                  n_probs: int = 0, grammar=None, lazy: LazyGrammar | None = None) -> list[Request]:
    """n Requests for one prompt (the choices); with a seed, choice i draws with seed + i."""
    if len(prompt_ids) >= llm.n_ctx:
        raise APIError(400, f"the prompt has {len(prompt_ids)} tokens; the context holds {llm.n_ctx}",
                       param="messages" if hasattr(body, "messages") else "prompt",
                       code="context_length_exceeded")
    try:
        kwargs = body.sampling_kwargs()
        kwargs["logit_bias"] = logit_bias(body.logit_bias)
        for tid in kwargs["logit_bias"]:
            if not 0 <= tid < llm.n_vocab:
                raise APIError(400, f"logit_bias token {tid} is outside the vocabulary", param="logit_bias")
        stops = check_stop(body.stop)
        limit = token_limit(llm, max_tokens, len(prompt_ids))
        reqs = []
        for i in range(n):
            seed = None if body.seed is None else body.seed + i
            params = SamplingParams.from_kwargs(**kwargs, seed=seed)
            reqs.append(llm.new_request(prompt_ids, limit, stops, params, grammar=grammar, n_probs=n_probs,
                                        lazy_grammar=lazy))
        return reqs
    except SamplingError as e:
        raise from_llmrt(e) from None
    except LLMRTError as e:
        raise from_llmrt(e) from None
