"""Response objects in the OpenAI API's shapes: chat completions and their stream chunks, text
completions, usage and log-probabilities."""

from __future__ import annotations

import json
import secrets
import time

# finish reasons llmrt's Request reports that OpenAI does not know
FINISH_REASONS = {"stop": "stop", "length": "length", "cancelled": "stop", "error": "stop", "": None}


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def finish_reason(reason: str) -> str | None:
    return FINISH_REASONS.get(reason, reason)


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens}}


def event_stream(events):
    """A streaming HTTP response of server-sent events from an async generator of sse() texts."""
    from fastapi.responses import StreamingResponse

    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def sse(obj) -> str:
    """One server-sent event carrying a JSON object (or the literal [DONE])."""
    return f"data: {obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)}\n\n"


class Pieces:
    """Token id -> its text and bytes, for log-probabilities."""

    def __init__(self, tokenizer):
        self.tok = tokenizer

    def bytes(self, tid: int) -> bytes:
        return self.tok.token_to_piece(int(tid), special=True)

    def text(self, tid: int) -> str:
        return self.bytes(tid).decode("utf-8", errors="replace")


def chat_logprobs(pieces: Pieces, tokens: list, logprobs: list, n_top: int) -> dict:
    """{"content": [{token, logprob, bytes, top_logprobs: [...]}, ...]}"""
    content = []
    for tid, (lp, top) in zip(tokens, logprobs):
        content.append({
            "token": pieces.text(tid), "logprob": lp, "bytes": list(pieces.bytes(tid)),
            "top_logprobs": [{"token": pieces.text(t), "logprob": v, "bytes": list(pieces.bytes(t))}
                             for t, v in top[:n_top]],
        })
    return {"content": content}


def completion_logprobs(pieces: Pieces, tokens: list, logprobs: list, offset: int) -> dict:
    """The legacy completions shape: parallel lists of tokens, their log-probabilities, the top
    alternatives as {text: logprob} and each token's offset in the text."""
    out = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    for tid, (lp, top) in zip(tokens, logprobs):
        text = pieces.text(tid)
        out["tokens"].append(text)
        out["token_logprobs"].append(lp)
        out["top_logprobs"].append({pieces.text(t): v for t, v in top})
        out["text_offset"].append(offset)
        offset += len(text)
    return out


def chat_chunk(cid: str, model: str, created: int, index: int, delta: dict,
               finish: str | None = None, logprobs: dict | None = None) -> dict:
    choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "llmrt", "choices": [choice]}


def now() -> int:
    return int(time.time())
