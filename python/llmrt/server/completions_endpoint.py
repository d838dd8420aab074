"""POST /v1/completions: raw text (or token) prompts, answered whole or streamed."""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse

from ..errors import LLMRTError
from .build import grammar_of, make_requests
from .errors import APIError, from_llmrt
from .responses import completion_logprobs, event_stream, finish_reason, new_id, now, sse, usage
from .schemas import CompletionRequest
from .session import Choices


def prompts_of(llm, prompt) -> list[list[int]]:
    """OpenAI's four prompt forms: a string, strings, token ids, lists of token ids."""
    if isinstance(prompt, str):
        prompt = [prompt]
    if prompt and all(isinstance(t, int) for t in prompt):
        prompt = [prompt]
    if not prompt:
        raise APIError(400, "the prompt is empty", param="prompt")
    out = []
    try:
        for p in prompt:
            ids = llm.tokenize(p, add_special=True, parse_special=True) if isinstance(p, str) else list(p)
            if not ids:
                raise APIError(400, "the prompt is empty", param="prompt")
            bad = [t for t in ids if not 0 <= t < llm.n_vocab]
            if bad:
                raise APIError(400, f"token id {bad[0]} is outside the vocabulary", param="prompt")
            out.append(ids)
    except LLMRTError as e:
        raise from_llmrt(e) from None
    return out


def _prepare(server, body: CompletionRequest):
    llm = server.llm
    if body.suffix:
        raise APIError(400, "suffix (fill-in-the-middle) is not supported", param="suffix")
    prompts = prompts_of(llm, body.prompt)
    grammar = grammar_of(body)
    max_tokens = body.max_tokens if body.max_tokens is not None else body.n_predict
    if max_tokens is None:
        max_tokens = 16  # OpenAI's default for this endpoint
    reqs = []
    for ids in prompts:
        reqs += make_requests(llm, body, ids, body.n, max_tokens, n_probs=body.logprobs or 0, grammar=grammar)
    return prompts, reqs


async def completions(server, body: CompletionRequest, http_request):
    prompts, reqs = await asyncio.to_thread(_prepare, server, body)
    server.admit(len(reqs))
    llm = server.llm
    echoes = [llm.detokenize(ids) if body.echo else "" for ids in prompts for _ in range(body.n)]
    choices = Choices(server.runner, reqs)
    meta = dict(cid=new_id("cmpl"), model=server.model_name, created=now())
    n_prompt = sum(len(p) for p in prompts)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return event_stream(_stream(server, choices, echoes, body.logprobs, n_prompt, include_usage, meta))
    results = await choices.collect(http_request)
    out = []
    for i, r in enumerate(results):
        if r.error is not None:
            raise r.error
        lp = completion_logprobs(server.pieces, r.tokens, r.logprobs, len(echoes[i])) if body.logprobs else None
        out.append({"index": i, "text": echoes[i] + r.text, "logprobs": lp,
                    "finish_reason": finish_reason(r.finish_reason)})
    return JSONResponse({"id": meta["cid"], "object": "text_completion", "created": meta["created"],
                         "model": meta["model"], "system_fingerprint": "llmrt", "choices": out,
                         "usage": usage(n_prompt, sum(len(r.tokens) for r in results))})


def _chunk(meta, index, text, finish=None, logprobs=None):
    return {"id": meta["cid"], "object": "text_completion", "created": meta["created"], "model": meta["model"],
            "system_fingerprint": "llmrt",
            "choices": [{"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}]}


async def _stream(server, choices: Choices, echoes: list, n_logprobs, n_prompt: int, include_usage: bool,
                  meta: dict):
    offsets = [len(e) for e in echoes]
    n_generated = 0
    try:
        for i, echo in enumerate(echoes):
            if echo:
                yield sse(_chunk(meta, i, echo))
        async for d in choices.deliveries():
            text = "".join(ev.text for ev in d.events)
            steps = [ev for ev in d.events if ev.token is not None]
            n_generated += len(steps)
            lp = None
            if n_logprobs and steps:
                lp = completion_logprobs(server.pieces, [e.token for e in steps],
                                         [(e.logprob, e.top_logprobs or []) for e in steps], offsets[d.index])
            offsets[d.index] += len(text)
            if text or lp:
                yield sse(_chunk(meta, d.index, text, logprobs=lp))
            if d.done:
                if d.error is not None:
                    yield sse({"error": {"message": f"generation failed: {d.error}", "type": "server_error",
                                         "code": None}})
                    return
                reason = finish_reason(choices.reqs[d.index].stats.finish_reason)
                yield sse(_chunk(meta, d.index, "", finish=reason))
        if include_usage:
            yield sse({"id": meta["cid"], "object": "text_completion", "created": meta["created"],
                       "model": meta["model"], "choices": [], "usage": usage(n_prompt, n_generated)})
        yield sse("[DONE]")
    finally:
        choices.cancel()
