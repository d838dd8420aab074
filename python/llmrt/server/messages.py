"""Chat messages as OpenAI clients send them, made into what chat templates read: every message
a role and a text content."""

from __future__ import annotations

from .errors import APIError

ROLES = {"system", "developer", "user", "assistant", "tool"}


def text_of(content, where: str) -> str:
    """A message content: a string, null (an assistant turn that only calls tools) or a list of
    parts of which only text parts are understood."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise APIError(400, f"content part of type {kind!r} is not supported (text only)",
                               param=f"{where}.content[{j}]")
            texts.append(part["text"])
        return "".join(texts)
    raise APIError(400, "content must be a string, a list of text parts or null", param=f"{where}.content")


def normalize(messages: list[dict]) -> list[dict]:
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ROLES:
            raise APIError(400, f"role must be one of {sorted(ROLES)}, got {role!r}", param=f"{where}.role")
        msg = {k: v for k, v in m.items() if k in ("tool_calls", "tool_call_id", "name")}
        # "developer" is OpenAI's newer name for the system turn; templates know "system"
        msg["role"] = "system" if role == "developer" else role
        msg["content"] = text_of(m.get("content"), where)
        if msg.get("tool_calls") is not None and not isinstance(msg["tool_calls"], list):
            raise APIError(400, "tool_calls must be a list", param=f"{where}.tool_calls")
        out.append(msg)
    return out
