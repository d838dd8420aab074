"""Tool calling for chat requests: the prompt that offers the tools, the grammar a call must
follow, and the parse of the reply into OpenAI `tool_calls`.

One syntax, Hermes' (Qwen 2.5/3, Hermes, SmolLM3 and others write it):

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

A chat template that writes `<tool_call>` itself gets the tools through its `tools` variable and
the conversation's tool calls and results as messages. Any other template (SmolLM2's and Gemma's
have no tool syntax) gets the tools described in the system message in that syntax, and earlier
calls and results written into the text of ordinary turns. A template with another syntax
(Llama 3.1's bare JSON, Mistral's [TOOL_CALLS]) needs its own opener, closer and argument key
here, and is otherwise served through the generic prompt.

The grammar: a call is `<tool_call>`, a JSON object whose "name" is one of the tools and whose
"arguments" follow that tool's parameter schema, and `</tool_call>`. With tool_choice "auto" it
is lazy (llmrt.generation.LazyGrammar): free text until the model writes `<tool_call>`, then the
call must parse. "required" or a named function forces it from the first token. "none" offers no
tools.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from ..generation import LazyGrammar
from .errors import APIError

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
RESULT_OPEN = "<tool_response>"
RESULT_CLOSE = "</tool_response>"

GENERIC_PROMPT = (
    "You can call functions to help with the user's request. The functions, with their "
    "parameters as JSON Schema, are listed between <tools> and </tools>:\n<tools>\n{tools}\n</tools>\n\n"
    "To call a function, reply with a JSON object holding its name and its arguments between "
    "<tool_call> and </tool_call>, one block per call:\n"
    "<tool_call>\n{{\"name\": \"function name\", \"arguments\": {{\"argument\": \"value\"}}}}\n</tool_call>"
)


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict

    def as_openai(self) -> dict:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def parse_tools(tools: list[dict] | None) -> list[Tool]:
    out = []
    for i, t in enumerate(tools or []):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type", "function") != "function" or not isinstance(fn, dict):
            raise APIError(400, "each tool must be {\"type\": \"function\", \"function\": {...}}",
                           param=f"tools[{i}]")
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise APIError(400, "a tool function needs a name", param=f"tools[{i}].function.name")
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise APIError(400, "function parameters must be a JSON Schema object",
                           param=f"tools[{i}].function.parameters")
        out.append(Tool(name, str(fn.get("description") or ""), params))
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise APIError(400, "tool names must be unique", param="tools")
    return out


def resolve_choice(tools: list[Tool], choice) -> tuple[str, list[Tool]]:
    """("none" | "auto" | "required", the tools a call may name)."""
    if not tools:
        if choice not in (None, "none", "auto"):
            raise APIError(400, "tool_choice needs tools", param="tool_choice")
        return "none", []
    if choice is None or choice in ("auto", "none", "required"):
        mode = choice or "auto"
        return mode, ([] if mode == "none" else tools)
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    match = [t for t in tools if t.name == name]
    if not match:
        raise APIError(400, f"tool_choice names no tool of this request: {name!r}", param="tool_choice")
    return "required", match


def template_speaks_tools(template: str | None) -> bool:
    return bool(template) and CALL_OPEN in template


def call_grammar(tools: list[Tool], parallel: bool):
    """A Grammar for one or more `<tool_call>` blocks naming these tools."""
    from ..grammar import Grammar
    from ..grammar.json_schema import schema_to_gbnf

    calls = [{"type": "object", "properties": {"name": {"const": t.name}, "arguments": t.parameters},
              "required": ["name", "arguments"], "additionalProperties": False} for t in tools]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    gbnf = schema_to_gbnf(schema)
    more = ' ( "\\n"? tool-call )*' if parallel else ""
    gbnf += (f'\ntool-calls ::= tool-call{more}\n'
             f'tool-call ::= "{CALL_OPEN}" "\\n"? root "\\n"? "{CALL_CLOSE}"\n')
    return Grammar.from_gbnf(gbnf, root="tool-calls")


@dataclass
class ToolPlan:
    """How one chat request offers tools: what the template gets, and the grammar."""
    mode: str                    # "none" | "auto" | "required"
    tools: list[Tool]
    native: bool                 # the template writes the tool syntax itself
    grammar: Any = None          # forced from the first token ("required")
    lazy: LazyGrammar | None = None

    @property
    def active(self) -> bool:
        return self.mode != "none"


def plan_tools(tools_field, choice, parallel: bool, template: str | None) -> ToolPlan:
    mode, usable = resolve_choice(parse_tools(tools_field), choice)
    plan = ToolPlan(mode, usable, template_speaks_tools(template))
    if mode == "none":
        return plan
    grammar = call_grammar(usable, parallel)
    if mode == "required":
        plan.grammar = grammar
    else:
        plan.lazy = LazyGrammar(grammar, (CALL_OPEN,))
    return plan


def _call_text(call: dict) -> str:
    fn = call.get("function") or {}
    args = fn.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            pass
    return f"{CALL_OPEN}\n{json.dumps({'name': fn.get('name'), 'arguments': args})}\n{CALL_CLOSE}"


def prepare_messages(messages: list[dict], plan: ToolPlan) -> list[dict]:
    """The conversation as the template gets it. Native templates see tool calls (arguments as
    objects) and tool results as they are; others get them written into ordinary turns and the
    tool list in the system message."""
    out = []
    for m in messages:
        m = dict(m)
        if m["role"] == "assistant" and m.get("tool_calls"):
            if plan.native:
                m["tool_calls"] = [_with_parsed_arguments(c) for c in m["tool_calls"]]
            else:
                calls = "\n".join(_call_text(c) for c in m.pop("tool_calls"))
                m["content"] = (m["content"] + "\n" if m["content"] else "") + calls
        elif m["role"] == "tool" and not plan.native:
            m = {"role": "user", "content": f"{RESULT_OPEN}\n{m['content']}\n{RESULT_CLOSE}"}
        out.append(m)
    if plan.active and not plan.native:
        listing = "\n".join(json.dumps(t.as_openai()) for t in plan.tools)
        text = GENERIC_PROMPT.format(tools=listing)
        if out and out[0]["role"] == "system":
            out[0] = {**out[0], "content": out[0]["content"] + "\n\n" + text}
        else:
            out.insert(0, {"role": "system", "content": text})
    return out


def _with_parsed_arguments(call: dict) -> dict:
    call = json.loads(json.dumps(call))
    fn = call.get("function") or {}
    if isinstance(fn.get("arguments"), str):
        try:
            fn["arguments"] = json.loads(fn["arguments"])
        except json.JSONDecodeError:
            pass
    return call


def parse_calls(text: str) -> tuple[str, list[dict]] | None:
    """(content before the first call, OpenAI tool_calls) or None when the text holds no
    complete call (then it is all content). A call cut short by max_tokens after complete ones
    is dropped."""
    start = text.find(CALL_OPEN)
    if start < 0:
        return None
    content, rest, calls = text[:start].strip(), text[start:], []
    decoder = json.JSONDecoder()
    while rest.startswith(CALL_OPEN):
        body = rest[len(CALL_OPEN):].lstrip()
        try:
            obj, end = decoder.raw_decode(body)
        except json.JSONDecodeError:
            break
        rest = body[end:].lstrip()
        if not rest.startswith(CALL_CLOSE) or not isinstance(obj, dict) or "name" not in obj:
            break
        calls.append({"id": "call_" + secrets.token_hex(12), "type": "function",
                      "function": {"name": obj["name"],
                                   "arguments": json.dumps(obj.get("arguments", {}))}})
        rest = rest[len(CALL_CLOSE):].lstrip()
    return (content, calls) if calls else None


class ContentFilter:
    """Streams a chat reply's text as content until a call opens: text that might be the start
    of `<tool_call>` is held back, and everything from the opener on is kept for parse_calls."""

    def __init__(self):
        self.held = ""
        self.call_text = None      # the text from the opener on, once it appeared

    def feed(self, text: str) -> str:
        if self.call_text is not None:
            self.call_text += text
            return ""
        self.held += text
        at = self.held.find(CALL_OPEN)
        if at >= 0:
            out, self.call_text, self.held = self.held[:at], self.held[at:], ""
            return out
        keep = next((k for k in range(min(len(CALL_OPEN) - 1, len(self.held)), 0, -1)
                     if CALL_OPEN.startswith(self.held[-k:])), 0)
        out, self.held = self.held[:len(self.held) - keep], self.held[len(self.held) - keep:]
        return out

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out
