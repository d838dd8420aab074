"""Hugging Face safetensors checkpoints -> GGUF (`llmrt convert`), GGUF -> quantized GGUF
(`llmrt quantize`). Output follows llama.cpp's convert_hf_to_gguf.py and llama-quantize so
the files load in any GGUF runtime.

Only the light `cli` module is imported eagerly (the `llmrt` command registers its parsers
from it); the converter itself, which pulls in the `gguf` package, loads on first use."""

from . import cli
from .errors import ConvertError

__all__ = ["convert", "quantize_file", "ConvertError", "cli"]


def __getattr__(name):
    if name == "convert":
        from .converter import convert

        return convert
    if name == "quantize_file":
        from .quantize import quantize_file

        return quantize_file
    raise AttributeError(name)
