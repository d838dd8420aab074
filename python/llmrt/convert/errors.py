"""Errors of the converter and the quantizer (all llmrt.LLMRTError subclasses)."""

from ..errors import ConvertError

__all__ = ["ConvertError"]
