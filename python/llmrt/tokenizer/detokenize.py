"""Token ids -> text, as llama.cpp's llama_token_to_piece / llama_detokenize.

`piece(id, special)` is the token's bytes: control/unknown tokens are empty unless `special`,
SentencePiece '▁' becomes a space, GPT-2 stand-in characters become their bytes, byte tokens
<0xNN> become that byte. `detokenize_bytes` drops one leading space of the first piece when the
model adds a space prefix, optionally removes BOS/EOS (remove_special), and applies llama.cpp's
clean-up of tokenization spaces (" ," -> ",") where the pre-tokenizer asks for it.

StreamingDetokenizer yields the same text incrementally: it holds back bytes until a UTF-8
character is complete, and, for clean-up models, until no clean-up rule can still reach back.
"""

from __future__ import annotations

import codecs
import re

from .bpe import byte_decode
from .vocab import ATTR_BYTE, ATTR_CONTROL, ATTR_NORMAL, ATTR_UNKNOWN, ATTR_USER_DEFINED

_SPECIAL = ATTR_UNKNOWN | ATTR_CONTROL

# llama_detokenize's three clean-up passes. Each only ever removes a space, decided by the
# next few bytes, so each is one regex substitution (verified against the C loops' semantics).
_CLEAN = [
    (re.compile(rb" (?=[?!.,])"), b""),          # " ?" " !" " ." " ,"
    (re.compile(rb" ' "), b"'"),                  # a lone apostrophe between spaces
    (re.compile(rb" (?='(?:[sm]|re|ve))"), b""),  # " 's" " 'm" " 're" " 've"
]


def clean_spaces(text: bytes) -> bytes:
    for pat, repl in _CLEAN:
        text = pat.sub(repl, text)
    return text


class PieceTable:
    """Lazily cached token_to_piece for one vocabulary (262k entries: never built eagerly)."""

    def __init__(self, vocab, spm_style: bool):
        self.tokens = vocab.tokens
        self.attrs = vocab.attrs
        self.spm_style = spm_style  # '▁' means space (SPM); otherwise GPT-2 byte characters
        self._cache: dict[int, bytes] = {}

    def piece(self, tid: int, special: bool) -> bytes:
        attr = int(self.attrs[tid])
        if attr & _SPECIAL and not special:
            return b""
        b = self._cache.get(tid)
        if b is None:
            b = self._cache[tid] = self._make(tid, attr)
        return b

    def _make(self, tid: int, attr: int) -> bytes:
        text = self.tokens[tid]
        if attr & (_SPECIAL | ATTR_USER_DEFINED):
            return text.encode("utf-8")
        if attr & ATTR_NORMAL:
            if self.spm_style:
                return text.replace("\u2581", " ").encode("utf-8")
            return byte_decode(text)
        if attr & ATTR_BYTE:
            return bytes([int(text[3:5], 16)])
        return b""  # unused / undefined tokens print nothing


class StreamingDetokenizer:
    """Feed token ids as they are generated; get text that never splits a UTF-8 character.

    The concatenation of everything `feed` and `flush` return equals
    `tokenizer.detokenize(all_ids, remove_special, unparse_special)`.
    """

    def __init__(self, tokenizer, remove_special: bool = False, unparse_special: bool = False):
        self.tok = tokenizer
        self.remove_special = remove_special
        self.unparse_special = unparse_special
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._first = True          # the next piece is the first of the text
        self._strip_space = tokenizer.vocab.add_space_prefix
        self._held_eos = False      # an EOS that remove_special drops if it turns out last
        self._pending = b""         # raw bytes not yet past the clean-up rules

    def feed(self, ids) -> str:
        if isinstance(ids, int):
            ids = (ids,)
        v = self.tok.vocab
        raw = []
        for tid in ids:
            self.tok._check_id(tid)
            if self._held_eos:
                raw.append(self._piece(v.eos_id))
                self._held_eos = False
            if self.remove_special and self._first and v.add_bos and tid == v.bos_id:
                self._first = False
                self._strip_space = False
                continue
            if self.remove_special and v.add_eos and tid == v.eos_id:
                self._held_eos = True
                continue
            raw.append(self._piece(tid))
        return self._emit(b"".join(raw), final=False)

    def flush(self) -> str:
        """End of stream: returns what was held back (an incomplete character becomes U+FFFD)."""
        self._held_eos = False
        return self._emit(b"", final=True)

    def _piece(self, tid: int) -> bytes:
        b = self.tok.token_to_piece(tid, special=self.unparse_special)
        if self._first:
            self._first = False
            if self._strip_space and b.startswith(b" "):
                b = b[1:]
        return b

    def _emit(self, raw: bytes, final: bool) -> str:
        if not self.tok.pre.clean_spaces:
            return self._decoder.decode(raw, final=final)
        data = self._pending + raw
        cut = len(data) if final else _safe_cut(data)
        self._pending = data[cut:]
        return self._decoder.decode(clean_spaces(data[:cut]), final=final)


def _safe_cut(data: bytes) -> int:
    """Largest k such that no clean-up match can span position k: every rule starts with a
    space and is at most 4 bytes long, so it suffices that data[k-3:k] holds no space."""
    k = len(data)
    while k > 0 and b" " in data[max(0, k - 3):k]:
        k -= 1
    return k
