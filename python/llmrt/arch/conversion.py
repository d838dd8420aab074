"""The two things an ArchSpec says beyond how to run a file: how a Hugging Face checkpoint
becomes one (HFConversion, read by convert/converter.py) and how to make a random-weight one
(RandomModel, read by convert/random_model.py). Both live in the architecture's own file, so
the converter, the random-model generator and the CLI list exactly the registered
architectures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .shape import Shape


@dataclass(frozen=True)
class HFConversion:
    # config.json "architectures" values this GGUF architecture is converted from
    architectures: tuple[str, ...]
    # (gguf.GGUFWriter, config) -> None: the architecture's metadata keys (arch/hf_metadata.py
    # has the shared writers, mirroring llama.cpp's convert_hf_to_gguf.py)
    metadata: Callable[[Any, dict], None]
    permute_qk: bool = False      # HF rotate-half Q/K rows -> interleaved pairs (ROPE_NORMAL)
    norm_shift: float = 0.0       # RMSNorm multiplies by (1 + w) in HF: fold the 1 in
    vocab_prefer: str = "spm"     # which tokenizer file wins when a checkpoint has both
    truncate_embd: bool = False   # drop embedding rows past the vocabulary
    spm_space_prefix: bool = True  # SentencePiece vocabularies: add_space_prefix


@dataclass(frozen=True)
class RandomModel:
    name: str                     # `llmrt convert --random --arch NAME`
    vocab_style: str              # the synthetic tokenizer (convert/random_vocab.py STYLES)
    presets: Mapping[str, Shape] = field(default_factory=dict)
    # (shape, config) -> None: the architecture's own config.json keys, added to the common ones
    config: Callable[[Shape, dict], None] | None = None
    moe: bool = False             # needs --experts / --experts-used
    tied_only: bool = False       # the head is always the token embedding
