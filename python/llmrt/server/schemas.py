"""Request bodies of the OpenAI endpoints, with llama-server's extra sampling fields.

Fields a client leaves out take llama.cpp's defaults (temperature 0.8, top_k 40, top_p 0.95,
min_p 0.05), as llama-server does, not OpenAI's. Unknown fields are ignored (clients send
`user`, `store`, `metadata`, ...). A field of the wrong type answers 422."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

# OpenAI / llama-server field -> SamplingParams keyword (llmrt.sampling.ALIASES maps the rest)
SAMPLING_FIELDS = {
    "temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "min_p": "min_p",
    "typical_p": "typical_p", "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty", "repeat_penalty": "repeat_penalty",
    "repeat_last_n": "repeat_last_n", "mirostat": "mirostat", "mirostat_tau": "mirostat_tau",
    "mirostat_eta": "mirostat_eta", "dry_multiplier": "dry_multiplier", "dry_base": "dry_base",
    "dry_allowed_length": "dry_allowed_length", "dry_penalty_last_n": "dry_penalty_last_n",
    "xtc_probability": "xtc_probability", "xtc_threshold": "xtc_threshold",
    "top_n_sigma": "top_n_sigma", "dynatemp_range": "dynatemp_range",
    "dynatemp_exponent": "dynatemp_exponent", "min_keep": "min_keep", "ignore_eos": "ignore_eos",
    "samplers": "samplers",
}


class StreamOptions(BaseModel):
    include_usage: bool = False


class SamplingFields(BaseModel):
    """What chat and completion requests share."""
    model_config = ConfigDict(extra="ignore")

    model: Optional[str] = None
    max_tokens: Optional[int] = None
    n_predict: Optional[int] = None            # llama-server's name for max_tokens
    n: int = Field(1, ge=1, le=16)
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    stop: Optional[Union[str, list[str]]] = None
    seed: Optional[int] = None
    logit_bias: Optional[dict[str, Union[float, bool]]] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    min_p: Optional[float] = None
    typical_p: Optional[float] = None
    presence_penalty: Optional[float] = None
    frequency_penalty: Optional[float] = None
    repeat_penalty: Optional[float] = None
    repeat_last_n: Optional[int] = None
    mirostat: Optional[int] = None
    mirostat_tau: Optional[float] = None
    mirostat_eta: Optional[float] = None
    dry_multiplier: Optional[float] = None
    dry_base: Optional[float] = None
    dry_allowed_length: Optional[int] = None
    dry_penalty_last_n: Optional[int] = None
    xtc_probability: Optional[float] = None
    xtc_threshold: Optional[float] = None
    top_n_sigma: Optional[float] = None
    dynatemp_range: Optional[float] = None
    dynatemp_exponent: Optional[float] = None
    min_keep: Optional[int] = None
    ignore_eos: Optional[bool] = None
    samplers: Optional[Union[str, list[str]]] = None
    response_format: Optional[dict[str, Any]] = None
    grammar: Optional[str] = None               # GBNF text (llama-server)
    json_schema: Optional[dict[str, Any]] = None  # llama-server's shortcut for response_format

    def sampling_kwargs(self) -> dict:
        out = {SAMPLING_FIELDS[k]: v for k, v in self if k in SAMPLING_FIELDS and v is not None}
        if self.logit_bias:
            out["logit_bias"] = self.logit_bias
        return out


class ChatRequest(SamplingFields):
    messages: list[dict[str, Any]] = Field(..., min_length=1)
    max_completion_tokens: Optional[int] = None
    logprobs: bool = False
    top_logprobs: Optional[int] = Field(None, ge=0, le=20)
    tools: Optional[list[dict[str, Any]]] = None
    tool_choice: Optional[Union[Literal["none", "auto", "required"], dict[str, Any]]] = None
    # llama-server's default: one call per reply unless the client asks for several
    parallel_tool_calls: bool = False
    chat_template_kwargs: Optional[dict[str, Any]] = None


class CompletionRequest(SamplingFields):
    prompt: Union[str, list[str], list[int], list[list[int]]]
    logprobs: Optional[int] = Field(None, ge=0, le=20)
    echo: bool = False
    suffix: Optional[str] = None


class TokenizeRequest(BaseModel):
    content: str
    add_special: bool = False
    parse_special: bool = True
    with_pieces: bool = False


class DetokenizeRequest(BaseModel):
    tokens: list[int]
