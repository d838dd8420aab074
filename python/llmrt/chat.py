"""Chat templates from GGUF metadata (`tokenizer.chat_template`), rendered with jinja2 in a
sandbox that bounds what a template can build (chat_sandbox.py), with the helpers real
templates call (raise_exception, strftime_now)."""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any, Mapping, Sequence

from .chat_sandbox import LimitedEnvironment, render_limited
from .errors import ChatTemplateError


# Used when a GGUF carries no template: the ChatML layout most instruction-tuned models share.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _raise(message: str):
    raise ChatTemplateError(f"chat template: {message}")


@lru_cache(maxsize=8)
def _compile(source: str):
    env = LimitedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
    return env.from_string(source)


def render(template: str | None, messages: Sequence[Mapping[str, Any]], bos_token: str = "",
           eos_token: str = "", add_generation_prompt: bool = True, **extra) -> str:
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
        raise ChatTemplateError(f"messages must be a list of dicts, not {type(messages).__name__}")
    for m in messages:
        if not isinstance(m, Mapping) or "role" not in m or "content" not in m:
            raise ChatTemplateError("every message must be a dict with 'role' and 'content'")
    try:
        return render_limited(
            _compile(template or CHATML), messages=list(messages), bos_token=bos_token, eos_token=eos_token,
            add_generation_prompt=add_generation_prompt, **extra)
    except ChatTemplateError:
        raise
    except Exception as e:  # jinja2 syntax/undefined errors: report as ours
        raise ChatTemplateError(f"chat template failed: {e}") from e
