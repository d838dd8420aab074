"""A synthetic tokenizer of any size for random-weight models (`llmrt convert --random`).

Two styles, as llama.cpp's converter writes the real ones:
  - "gpt2" (byte-level BPE, Llama 3 / Qwen / SmolLM): the 256 byte tokens, then tokens made by
    merges "prefix c" (each new token one letter longer than a token before it), then the
    special tokens at the end of the table;
  - "llama" (SentencePiece, Mistral / Gemma): special tokens first, the 256 <0xXX> byte-fallback
    pieces, single characters, then pieces grown one letter at a time, scored so that shorter
    and earlier pieces merge first.
Pieces are words over a small alphabet ("▁ab", "Ġcd", ...): every text tokenizes, and a token's
id says nothing about language, which is all a benchmark needs.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from itertools import islice

from ..tokenizer.bpe import BYTE_TO_CHAR
from .errors import ConvertError

# gguf TokenType values
NORMAL, CONTROL, BYTE = 1, 3, 6

LETTERS = string.ascii_lowercase
SPM_CHARS = ("\u2581", *LETTERS, *string.ascii_uppercase, *string.digits, *string.punctuation)


@dataclass(frozen=True)
class VocabStyle:
    model: str                      # tokenizer.ggml.model: "gpt2" | "llama"
    pre: str                        # tokenizer.ggml.pre
    specials: tuple[str, ...]       # control tokens, in table order
    bos: str
    eos: str
    add_bos: bool = True
    extra: dict = field(default_factory=dict)   # e.g. {"unk": "<unk>", "pad": "<pad>"}
    add_space_prefix: bool | None = None        # written only when set


# Tokenizer families of published models; an architecture names its own (RandomModel.vocab_style).
STYLES = {
    "llama": VocabStyle("gpt2", "llama-bpe", ("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"),
                        "<|begin_of_text|>", "<|end_of_text|>"),
    "qwen": VocabStyle("gpt2", "qwen2", ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
                       "<|endoftext|>", "<|endoftext|>", add_bos=False),
    "mistral": VocabStyle("llama", "default", ("<unk>", "<s>", "</s>"), "<s>", "</s>",
                          extra={"unk": "<unk>"}),
    "gemma": VocabStyle("llama", "default", ("<pad>", "<eos>", "<bos>", "<unk>"), "<bos>", "<eos>",
                        extra={"unk": "<unk>", "pad": "<pad>"}, add_space_prefix=False),
}



def _words(space: str):
    """Words over `space` + a-z (the space only first), shortest first; each word's prefix
    without its last letter comes earlier."""
    level = [space, *LETTERS]
    while True:
        level = [w + c for w in level for c in LETTERS]
        yield from level


def _gpt2_tokens(n_vocab: int, style: VocabStyle):
    n_words = n_vocab - 256 - len(style.specials)
    words = list(islice(_words(BYTE_TO_CHAR[ord(" ")]), n_words))
    tokens = [*BYTE_TO_CHAR, *words, *style.specials]
    types = [NORMAL] * (256 + len(words)) + [CONTROL] * len(style.specials)
    merges = [f"{w[:-1]} {w[-1]}" for w in words]
    return tokens, types, None, merges


def _spm_tokens(n_vocab: int, style: VocabStyle):
    n_words = n_vocab - len(style.specials) - 256 - len(SPM_CHARS)
    pieces = [*SPM_CHARS, *islice(_words("\u2581"), n_words)]
    tokens = [*style.specials, *(f"<0x{b:02X}>" for b in range(256)), *pieces]
    types = [CONTROL] * len(style.specials) + [BYTE] * 256 + [NORMAL] * len(pieces)
    scores = [0.0] * (len(style.specials) + 256) + [-float(i) for i in range(len(pieces))]
    return tokens, types, scores, None


def min_vocab(style_name: str) -> int:
    style = STYLES[style_name]
    return 256 + len(style.specials) + (0 if style.model == "gpt2" else len(SPM_CHARS))


def write_vocab(g, style_name: str, n_vocab: int) -> None:
    """Tokenizer metadata (tokenizer.ggml.*) of n_vocab tokens of a STYLES family into GGUFWriter `g`."""
    style = STYLES[style_name]
    if n_vocab < min_vocab(style_name):
        raise ConvertError(f"--vocab {n_vocab} is too small for a {style.model} tokenizer "
                           f"(at least {min_vocab(style_name)})")
    build = _gpt2_tokens if style.model == "gpt2" else _spm_tokens
    tokens, types, scores, merges = build(n_vocab, style)
    assert len(tokens) == n_vocab, (len(tokens), n_vocab)
    ids = {t: i for i, t in enumerate(tokens)}
    g.add_tokenizer_model(style.model)
    g.add_tokenizer_pre(style.pre)
    g.add_token_list(tokens)
    if scores is not None:
        g.add_token_scores(scores)
    g.add_token_types(types)
    if merges is not None:
        g.add_token_merges(merges)
    g.add_bos_token_id(ids[style.bos])
    g.add_eos_token_id(ids[style.eos])
    if "unk" in style.extra:
        g.add_unk_token_id(ids[style.extra["unk"]])
    if "pad" in style.extra:
        g.add_pad_token_id(ids[style.extra["pad"]])
    g.add_add_bos_token(style.add_bos)
    g.add_add_eos_token(False)
    if style.add_space_prefix is not None:
        g.add_add_space_prefix(style.add_space_prefix)
