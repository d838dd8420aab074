"""POST /v1/chat/completions: a conversation through the model's chat template, tools and
structured output included, answered whole or streamed as server-sent events."""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse

from .build import grammar_of, make_requests
from .errors import APIError
from .messages import normalize
from .responses import chat_chunk, chat_logprobs, event_stream, finish_reason, new_id, now, sse, usage
from .schemas import ChatRequest
from .session import Choices
from .tools import ContentFilter, ToolPlan, parse_calls, plan_tools, prepare_messages


def _prepare(server, body: ChatRequest):
    """Template, tokens, grammar and Requests (in a worker thread: a schema can take a while
    to compile and a long prompt to tokenize)."""
    llm = server.llm
    template = llm.chat_template
    plan = plan_tools(body.tools, body.tool_choice, body.parallel_tool_calls, template)
    grammar = grammar_of(body)
    if plan.active and grammar is not None:
        raise APIError(400, "tools cannot be combined with response_format, grammar or json_schema",
                       param="tools")
    messages = prepare_messages(normalize(body.messages), plan)
    extra = dict(body.chat_template_kwargs or {})
    if plan.active and plan.native:
        extra["tools"] = [t.as_openai() for t in plan.tools]
    prompt_ids = llm.chat_prompt_ids(messages, **extra)
    max_tokens = next((v for v in (body.max_completion_tokens, body.max_tokens, body.n_predict)
                       if v is not None), None)
    n_top = (body.top_logprobs or 0) if body.logprobs else 0
    n_probs = max(n_top, 1) if body.logprobs else 0
    reqs = make_requests(llm, body, prompt_ids, body.n, max_tokens, n_probs=n_probs,
                         grammar=plan.grammar or grammar, lazy=plan.lazy)
    return plan, prompt_ids, reqs, n_top


async def chat_completions(server, body: ChatRequest, http_request):
    plan, prompt_ids, reqs, n_top = await asyncio.to_thread(_prepare, server, body)
    server.admit(len(reqs))
    choices = Choices(server.runner, reqs)
    meta = dict(cid=new_id("chatcmpl"), model=server.model_name, created=now())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return event_stream(_stream(server, choices, plan, len(prompt_ids), n_top, body.logprobs,
                                    include_usage, meta))
    results = await choices.collect(http_request)
    out = []
    for i, r in enumerate(results):
        if r.error is not None:
            raise r.error
        message = {"role": "assistant", "content": r.text}
        reason = finish_reason(r.finish_reason)
        parsed = parse_calls(r.text) if plan.active else None
        if parsed is not None:
            message["content"] = parsed[0] or None
            message["tool_calls"] = parsed[1]
            reason = "tool_calls"
        lp = chat_logprobs(server.pieces, r.tokens, r.logprobs, n_top) if body.logprobs else None
        out.append({"index": i, "message": message, "logprobs": lp, "finish_reason": reason})
    cached = reqs[0].stats.prompt_tokens_cached
    return JSONResponse({"id": meta["cid"], "object": "chat.completion", "created": meta["created"],
                         "model": meta["model"], "system_fingerprint": "llmrt", "choices": out,
                         "usage": usage(len(prompt_ids), sum(len(r.tokens) for r in results), cached)})


async def _stream(server, choices: Choices, plan: ToolPlan, n_prompt: int, n_top: int,
                  want_logprobs: bool, include_usage: bool, meta: dict):
    cid, model, created = meta["cid"], meta["model"], meta["created"]
    filters = [ContentFilter() for _ in choices.reqs]
    n_generated = 0
    try:
        for i in range(len(choices.reqs)):
            yield sse(chat_chunk(cid, model, created, i, {"role": "assistant", "content": ""}))
        async for d in choices.deliveries():
            text = "".join(ev.text for ev in d.events)
            steps = [ev for ev in d.events if ev.token is not None]
            n_generated += len(steps)
            if plan.active:
                text = filters[d.index].feed(text)
            lp = None
            if want_logprobs and steps:
                lp = chat_logprobs(server.pieces, [e.token for e in steps],
                                   [(e.logprob, e.top_logprobs or []) for e in steps], n_top)
            if text or lp:
                yield sse(chat_chunk(cid, model, created, d.index, {"content": text}, logprobs=lp))
            if not d.done:
                continue
            if d.error is not None:
                err = APIError(500, f"generation failed: {d.error}")
                yield sse({"error": {"message": err.message, "type": "server_error", "code": None}})
                return
            reason = finish_reason(choices.reqs[d.index].stats.finish_reason)
            f = filters[d.index]
            tail = f.flush()
            if f.call_text is not None:
                parsed = parse_calls(f.call_text)
                if parsed is None:
                    tail += f.call_text
                else:
                    calls = [{"index": k, **c} for k, c in enumerate(parsed[1])]
                    yield sse(chat_chunk(cid, model, created, d.index, {"tool_calls": calls}))
                    reason = "tool_calls"
            if tail:
                yield sse(chat_chunk(cid, model, created, d.index, {"content": tail}))
            yield sse(chat_chunk(cid, model, created, d.index, {}, finish=reason))
        if include_usage:
            cached = choices.reqs[0].stats.prompt_tokens_cached
            yield sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                       "system_fingerprint": "llmrt", "choices": [], "usage": usage(n_prompt, n_generated, cached)})
        yield sse("[DONE]")
    finally:
        choices.cancel()
