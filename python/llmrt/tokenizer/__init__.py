"""Tokenizers built from GGUF metadata alone, with llama.cpp's exact token ids.

    tok = Tokenizer.from_metadata(gguf_metadata)
    ids = tok.tokenize("Hello", add_special=True, parse_special=False)
    text = tok.detokenize(ids)

Supports tokenizer.ggml.model "llama" (SentencePiece: spm.py) and "gpt2" (byte-level BPE:
bpe.py, with the pre-tokenizer named by tokenizer.ggml.pre: pretokenize.py).
"""

from __future__ import annotations

from ..arguments import is_integer, token_ids
from ..errors import TokenizerError
from . import pretokenize
from .bpe import BPETokenizer
from .detokenize import PieceTable, StreamingDetokenizer, clean_spaces
from .special import SpecialTokens, partition
from .spm import SPMTokenizer
from .vocab import ATTR_CONTROL, Vocab

__all__ = ["Tokenizer", "StreamingDetokenizer", "TokenizerError"]


class Tokenizer:
    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        if vocab.model == "llama":
            self.pre = pretokenize.PreTokenizer("spm", (), clean_spaces=False)
            vocab.set_add_bos_default(True)
            self._impl = SPMTokenizer(vocab)
        else:
            self.pre = pretokenize.get_pretokenizer(vocab.pre)
            vocab.set_add_bos_default(self.pre.add_bos)
            self._impl = BPETokenizer(vocab, self.pre)
        self._pieces = PieceTable(vocab, spm_style=vocab.model == "llama")
        self._specials = SpecialTokens(vocab.special_tokens)

    @classmethod
    def from_metadata(cls, metadata: dict) -> "Tokenizer":
        """Build from GGUF metadata (llmrt.GGUFFile(path).metadata format)."""
        return cls(Vocab(metadata))

    # ---- facts -------------------------------------------------------------------------
    @property
    def n_vocab(self) -> int:
        return self.vocab.n_vocab

    @property
    def bos_id(self) -> int:
        """-1 when the model has none."""
        return self.vocab.bos_id

    @property
    def eos_id(self) -> int:
        return self.vocab.eos_id

    @property
    def eot_id(self) -> int:
        """End-of-turn token (<|im_end|>, <end_of_turn>, ...) or -1."""
        return self.vocab.eot_id

    @property
    def eog_ids(self) -> frozenset[int]:
        """Every id that ends generation (llama.cpp's llama_vocab_is_eog set)."""
        return self.vocab.eog_ids

    @property
    def add_bos(self) -> bool:
        return self.vocab.add_bos

    @property
    def add_eos(self) -> bool:
        return self.vocab.add_eos

    def is_eog(self, tid: int) -> bool:
        return tid in self.vocab.eog_ids

    def is_control(self, tid: int) -> bool:
        self._check_id(tid)
        return bool(self.vocab.attrs[tid] & ATTR_CONTROL)

    def token_text(self, tid: int) -> str:
        """The token as stored in the vocabulary (e.g. '▁the', 'Ġthe', '<|im_end|>')."""
        self._check_id(tid)
        return self.vocab.tokens[tid]

    def token_id(self, text: str) -> int | None:
        """Id of a token given its vocabulary text, or None."""
        return self.vocab.token_to_id.get(text)

    # ---- text -> ids -------------------------------------------------------------------
    def tokenize(self, text: str | bytes, add_special: bool = True,
                 parse_special: bool = False) -> list[int]:
        """llama_tokenize(text, add_special, parse_special).

        add_special: add BOS/EOS where the model's metadata asks for them.
        parse_special: recognise control tokens such as <|im_start|> inside the text
        (user-defined tokens are always recognised, as in llama.cpp).
        """
        text = _as_text(text)
        v = self.vocab
        out: list[int] = []
        if add_special and v.add_bos:
            if v.bos_id < 0:
                raise TokenizerError("model asks for a BOS token but has none")
            out.append(v.bos_id)
        frags = partition(text, self._specials, parse_special)
        if v.model == "llama":
            prev_special = True  # SentencePiece adds its space prefix at the start and after specials
            for f in frags:
                if type(f) is int:
                    out.append(f)
                    prev_special = True
                    continue
                if v.add_space_prefix and prev_special:
                    f = " " + f
                self._impl.encode(f.replace(" ", "\u2581"), out)
                prev_special = False
        else:
            for f in frags:
                if type(f) is int:
                    out.append(f)
                else:
                    self._impl.encode(f, out)
        if add_special and v.add_eos:
            if v.eos_id < 0:
                raise TokenizerError("model asks for an EOS token but has none")
            out.append(v.eos_id)
        return out

    # ---- ids -> text -------------------------------------------------------------------
    def token_to_piece(self, tid: int, special: bool = False) -> bytes:
        """The bytes this token stands for (llama_token_to_piece with lstrip=0). Control and
        unknown tokens give b'' unless `special`. Bytes, because a piece can be part of a
        UTF-8 character."""
        self._check_id(tid)
        return self._pieces.piece(tid, special)

    def detokenize_bytes(self, ids, remove_special: bool = False,
                         unparse_special: bool = False) -> bytes:
        """llama_detokenize(ids, remove_special, unparse_special), as bytes."""
        v = self.vocab
        ids = token_ids(ids, v.n_vocab, error=TokenizerError).tolist()
        strip_space = v.add_space_prefix
        if remove_special and v.add_bos and ids and ids[0] == v.bos_id:
            strip_space = False
            ids = ids[1:]
        if remove_special and v.add_eos and ids and ids[-1] == v.eos_id:
            ids = ids[:-1]
        pieces = [self._pieces.piece(t, unparse_special) for t in ids]
        if strip_space and pieces and pieces[0].startswith(b" "):
            pieces[0] = pieces[0][1:]
        data = b"".join(pieces)
        return clean_spaces(data) if self.pre.clean_spaces else data

    def detokenize(self, ids, remove_special: bool = False, unparse_special: bool = False) -> str:
        """llama_detokenize(ids, remove_special, unparse_special) decoded as UTF-8 (an invalid
        or cut-off sequence becomes U+FFFD).

        Defaults are those llama-cpp-python's Llama.detokenize effectively uses: special tokens
        are not rendered and BOS/EOS are not removed. Unlike Llama.detokenize, a leading space
        is dropped only where llama.cpp drops it (models that add a space prefix), so that
        detokenize(tokenize(s)) == s for SmolLM2 and Gemma 3.
        """
        return self.detokenize_bytes(ids, remove_special, unparse_special).decode("utf-8", "replace")

    def streaming_detokenizer(self, remove_special: bool = False,
                              unparse_special: bool = False) -> StreamingDetokenizer:
        return StreamingDetokenizer(self, remove_special, unparse_special)

    def _check_id(self, tid) -> None:
        if not is_integer(tid):
            raise TokenizerError(f"token id must be an integer, got {tid!r}")
        if not 0 <= tid < self.vocab.n_vocab:
            raise TokenizerError(f"token id {tid} out of range [0, {self.vocab.n_vocab})")


def _as_text(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            return bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise TokenizerError(f"input is not valid UTF-8: {e}") from None
    if not isinstance(text, str):
        raise TokenizerError(f"tokenize() needs str or bytes, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates cannot be tokenized
        raise TokenizerError(f"input is not valid Unicode text: {e}") from None
    return text
