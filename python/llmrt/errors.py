"""Typed exceptions. Every failure llmrt reports is an LLMRTError subclass.

The native core raises these too (csrc/bindings/module.cpp translates its C++ exceptions), so
`except llmrt.LLMRTError` catches everything the library itself signals.
"""


class LLMRTError(Exception):
    """Base class of all llmrt errors."""


class GGUFError(LLMRTError, ValueError):
    """A GGUF file is malformed, truncated or uses something this build cannot read."""


class ModelError(LLMRTError):
    """A model cannot be run: unknown architecture, missing tensor, unsupported type."""


class ConvertError(ModelError):
    """A checkpoint cannot be converted: unsupported architecture, missing shard, bad shape,
    unknown tokenizer."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """A model specifier names no file, alias or downloadable model."""


class ContextError(LLMRTError):
    """The KV cache or a batch is misused: cache full, prompt longer than the context, bad cell."""


class QuantError(LLMRTError, ValueError):
    """A quantize/dequantize request is impossible (unknown type, wrong length)."""


class TokenizerError(LLMRTError, ValueError):
    """The tokenizer cannot be built from the model's metadata, or an input cannot be encoded."""


class SamplingError(LLMRTError, ValueError):
    """A sampler parameter is out of range."""


class GrammarError(LLMRTError, ValueError):
    """A grammar or JSON schema cannot be parsed or compiled."""


class DeviceError(LLMRTError):
    """The requested device cannot be used: llmrt was built without CUDA, no GPU or driver is
    present, or a CUDA call failed."""


class ChatTemplateError(LLMRTError, ValueError):
    """The model has no usable chat template, or rendering it failed or exceeded the limits on
    what a template may build (llmrt/chat_sandbox.py)."""
