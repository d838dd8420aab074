"""A model's shape in Hugging Face config terms: what `llmrt convert --random` builds a
checkpoint-free model from. Architectures name their preset shapes with it (ArchSpec.random)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """For MoE, `ffn` is one expert's width."""

    arch: str                  # the preset's architecture (a RandomModel name)
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    context: int = 4096
    head_dim: int | None = None   # None: hidden // heads
    experts: int = 0
    experts_used: int = 0
    shared_ffn: int = 0           # qwen2moe's shared expert (0: 4 * ffn)
    tied: bool = True             # output head tied to the token embedding
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    sliding_window: int = 0       # gemma3's local layers (0: 512)

    @property
    def head_width(self) -> int:
        return self.head_dim or self.hidden // self.heads
