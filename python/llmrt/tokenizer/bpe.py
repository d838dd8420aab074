"""Byte-level BPE (tokenizer.ggml.model == "gpt2"), as llama.cpp's llm_tokenizer_bpe_session.

Each pre-token word is UTF-8 encoded, its bytes mapped to GPT-2's printable stand-in characters,
and merged by rank (lowest first, leftmost on ties) with a heap, so long words stay O(n log n).
Results are cached per word: real text repeats words constantly.
"""

from __future__ import annotations

import heapq

from . import pretokenize
from .merging import merge_queued_pairs
from .vocab import Vocab


def _bytes_to_unicode() -> list[str]:
    """GPT-2's byte -> printable character table (printable Latin-1 maps to itself)."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return [table[b] for b in range(256)]


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in enumerate(BYTE_TO_CHAR)}
# str.translate over the latin-1 view of the UTF-8 bytes: the byte mapping at C speed
_ENCODE_TABLE = {b: c for b, c in enumerate(BYTE_TO_CHAR)}

_CACHE_MAX = 200_000


def byte_encode(word: str) -> str:
    return word.encode("utf-8").decode("latin-1").translate(_ENCODE_TABLE)


def byte_decode(text: str) -> bytes:
    """Token text -> raw bytes (llama_decode_text). Characters outside the table are kept in
    llama.cpp's own '[UNK_BYTE_0x..]' form so a broken vocabulary shows up in the output."""
    out = bytearray()
    for ch in text:
        b = CHAR_TO_BYTE.get(ch)
        if b is None:
            out += b"[UNK_BYTE_0x" + ch.encode("utf-8").hex().encode() + text.encode("utf-8") + b"]"
        else:
            out.append(b)
    return bytes(out)


class BPETokenizer:
    def __init__(self, vocab: Vocab, pre: pretokenize.PreTokenizer):
        self.token_to_id = vocab.token_to_id
        # llama.cpp keeps the first rank of a duplicated merge (map::emplace)
        merges = vocab.merges
        self.ranks = dict(zip(reversed(merges), range(len(merges) - 1, -1, -1)))
        self.patterns = pre.compile()
        self.ignore_merges = pre.ignore_merges
        self._cache: dict[str, list[int]] = {}

    def encode(self, text: str, out: list[int]) -> None:
        cache = self._cache
        for word in pretokenize.split(text, self.patterns):
            ids = cache.get(word)
            if ids is None:
                if len(cache) >= _CACHE_MAX:
                    cache.clear()
                ids = cache[word] = self._encode_word(byte_encode(word))
            out.extend(ids)

    def _encode_word(self, word: str) -> list[int]:
        t2i = self.token_to_id
        if self.ignore_merges and word in t2i:
            return [t2i[word]]
        ids = []
        for sym in self._merge(word):
            tid = t2i.get(sym)
            if tid is not None:
                ids.append(tid)
                continue
            # no token: llama.cpp falls back to single-byte tokens, silently skipping bytes
            # (only ASCII can be a one-byte token text) that have none
            for ch in sym.encode("utf-8"):
                tid = t2i.get(chr(ch)) if ch < 0x80 else None
                if tid is not None:
                    ids.append(tid)
        return ids

    def _merge(self, word: str) -> list[str]:
        syms = list(word)
        n = len(syms)
        if n < 2:
            return syms
        ranks = self.ranks
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prev = list(range(-1, n - 1))
        heap = []
        for i in range(n - 1):
            r = ranks.get(syms[i] + " " + syms[i + 1])
            if r is not None:
                heap.append((r, i, i + 1, syms[i] + syms[i + 1]))
        heapq.heapify(heap)

        def push(left: int, right: int) -> None:
            if left < 0 or right < 0:
                return
            r = ranks.get(syms[left] + " " + syms[right])
            if r is not None:
                heapq.heappush(heap, (r, left, right, syms[left] + syms[right]))

        merge_queued_pairs(heap, syms, prev, nxt, push)
        return [s for s in syms if s]
