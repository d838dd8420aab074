"""SentencePiece-style tokenization (tokenizer.ggml.model == "llama"), as llama.cpp's
llm_tokenizer_spm_session: start from single characters, repeatedly merge the adjacent pair
whose concatenation is a token with the highest score (leftmost on ties), and spell characters
that are no token as byte tokens <0xNN>.

llama.cpp runs that over a whole text fragment. To cache and to avoid one huge heap we cut the
fragment where no merge can ever cross: before a '▁' when no token contains the two characters
meeting there. Merges only ever produce vocabulary tokens, so a pair that occurs in no token
text is never merged, and the pieces on either side evolve independently - the result is
identical to merging the whole fragment.
"""

from __future__ import annotations

import heapq

import regex

from .merging import merge_queued_pairs
from .vocab import Vocab

_CACHE_MAX = 200_000
_SPACE = "\u2581"  # '▁', SentencePiece's escaped space
_CUT = regex.compile(rf"(?<=[^{_SPACE}])(?={_SPACE})")


class SPMTokenizer:
    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        self.token_to_id = vocab.token_to_id
        self._scores: list[float] | None = None   # built on first use (262k floats)
        self._unsafe_cuts: set[str] | None = None
        self._cache: dict[str, list[int]] = {}

    def _prepare(self) -> None:
        self._scores = self.vocab.scores.tolist()
        # every 'x▁' (x != '▁') that occurs inside some token: cutting there could split a merge
        joined = "\0".join(self.vocab.tokens)
        self._unsafe_cuts = set(regex.findall(rf"[^\0{_SPACE}]{_SPACE}", joined, overlapped=True))

    def encode(self, text: str, out: list[int]) -> None:
        """Tokenize one fragment whose spaces are already escaped as '▁'."""
        if self._scores is None:
            self._prepare()
        cache = self._cache
        for piece in self._pieces(text):
            ids = cache.get(piece)
            if ids is None:
                if len(cache) >= _CACHE_MAX:
                    cache.clear()
                ids = cache[piece] = self._encode_piece(piece)
            out.extend(ids)

    def _pieces(self, text: str) -> list[str]:
        parts = _CUT.split(text)
        if len(parts) == 1 or not self._unsafe_cuts:
            return parts
        unsafe = self._unsafe_cuts
        out = [parts[0]]
        for p in parts[1:]:
            if out[-1][-1] + p[0] in unsafe:
                out[-1] += p  # a token spans this cut: keep the two sides together
            else:
                out.append(p)
        return out

    def _encode_piece(self, text: str) -> list[int]:
        t2i, scores = self.token_to_id, self._scores
        syms = list(text)
        n = len(syms)
        heap = []

        def push(left: int, right: int) -> None:
            if left < 0 or right < 0:
                return
            joined = syms[left] + syms[right]
            tid = t2i.get(joined)
            if tid is not None:  # highest score first, then leftmost
                heapq.heappush(heap, (-scores[tid], left, right, joined))

        nxt = list(range(1, n + 1))
        if n:
            nxt[-1] = -1
        prev = list(range(-1, n - 1))
        for i in range(1, n):
            push(i - 1, i)
        merge_queued_pairs(heap, syms, prev, nxt, push)

        ids = []
        for s in syms:
            if not s:
                continue
            tid = t2i.get(s)
            if tid is not None:
                ids.append(tid)
            else:  # byte fallback, one token per UTF-8 byte
                ids.extend(self.vocab.byte_token(b) for b in s.encode("utf-8"))
        return ids
