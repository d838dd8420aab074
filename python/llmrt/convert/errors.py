"""Errors of the converter and the quantizer (all llmrt.LLMRTError subclasses)."""

from ..errors import ModelError


class ConvertError(ModelError):
    """A checkpoint cannot be converted: unsupported architecture, missing shard, bad shape,
    unknown tokenizer."""
