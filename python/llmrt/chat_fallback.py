"""The chat template a model gets when its GGUF carries none: the layout its family was trained
on where that is known, ChatML otherwise (llmrt.chat.CHATML)."""

from __future__ import annotations

# Gemma's turns: a system message has no role of its own and opens the first user turn.
GEMMA = (
    "{{ bos_token }}{% set ns = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\\n\\n' %}"
    "{% else %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\\n' + (ns.system if role == 'user' else '') + message['content']"
    " + '<end_of_turn>\\n' }}{% if role == 'user' %}{% set ns.system = '' %}{% endif %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)

# general.architecture -> template
BY_ARCHITECTURE = {"gemma": GEMMA, "gemma2": GEMMA, "gemma3": GEMMA}


def fallback_template(architecture: str) -> str | None:
    """None: llmrt.chat's ChatML default."""
    return BY_ARCHITECTURE.get(architecture)
