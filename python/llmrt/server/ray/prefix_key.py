"""The routing key of a request: the part of its prompt that later requests will share.

A chat's later turns repeat its system prompt and first user message word for word, so the key is
those (role and content) up to PREFIX_CHARS characters; every turn of a conversation gets the same
key, while conversations that only share a system prompt spread over replicas. A text completion's
key is its prompt's first PREFIX_CHARS characters. The ingress computes it from the JSON body, so
it needs neither the tokenizer nor the chat template."""

from __future__ import annotations

import json

PREFIX_CHARS = 512


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):          # content parts: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def chat_key(messages) -> str | None:
    opening = []
    for m in messages:
        if not isinstance(m, dict):
            return None
        opening.append(f"<{m.get('role', '')}>{_text(m.get('content'))}")
        if m.get("role") == "user":
            break
    return "".join(opening)[:PREFIX_CHARS] or None


def prompt_key(prompt) -> str | None:
    if isinstance(prompt, list):           # a batch of prompts or one prompt as token ids
        if not prompt:
            return None
        first = prompt[0]
        prompt = first if isinstance(first, str) else json.dumps(prompt[:PREFIX_CHARS // 4])
    return prompt[:PREFIX_CHARS] if isinstance(prompt, str) and prompt else None


def routing_key(path: str, body: bytes) -> str | None:
    """None when the request has no prompt (GET /v1/models) or its body is not JSON."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    model = str(data.get("model", ""))
    if path.endswith("chat/completions") and isinstance(data.get("messages"), list):
        key = chat_key(data["messages"])
    elif path.endswith("completions"):
        key = prompt_key(data.get("prompt"))
    else:
        key = None
    return f"{model}\n{key}" if key else None
