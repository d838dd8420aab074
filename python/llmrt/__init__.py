"""llmrt: run GGUF language models. See README.md for the tour."""

from .errors import (
    ChatTemplateError,
    ContextError,
    DeviceError,
    GGUFError,
    GrammarError,
    LLMRTError,
    ModelError,
    ModelNotFoundError,
    QuantError,
    SamplingError,
    TokenizerError,
)

__version__ = "0.1.0"

__all__ = [
    "ChatTemplateError", "ContextError", "DeviceError", "GGUFError", "GrammarError", "LLMRTError", "ModelError",
    "ModelNotFoundError", "QuantError", "SamplingError", "TokenizerError", "__version__",
]

from .gguf_file import GGUFFile  # noqa: E402
from .grammar import Grammar  # noqa: E402
from .llm import LLM  # noqa: E402

__all__ += ["GGUFFile", "Grammar", "LLM"]
