"""Split text around special tokens before it reaches SPM/BPE (llama.cpp tokenizer_st_partition).

For each special token, longest text first, every raw-text fragment is cut at each occurrence.
User-defined tokens are always recognised (as Hugging Face does for added tokens); control and
unknown tokens only with parse_special. Tokens flagged LSTRIP/RSTRIP swallow adjacent ASCII
whitespace.
"""

from __future__ import annotations

from .vocab import ATTR_CONTROL, ATTR_LSTRIP, ATTR_RSTRIP, ATTR_UNKNOWN

_ASCII_SPACE = " \t\n\v\f\r"  # C isspace() in the "C" locale

Fragment = "str | int"  # raw text, or a token id


_PREFIX = 7  # group special tokens by their first characters ("<unused" covers 6k in Gemma)


class SpecialTokens:
    """The special-token cache of a vocabulary, grouped so that finding which of thousands of
    special tokens occur in a text costs one substring search per group, not per token."""

    def __init__(self, specials: list[tuple[str, int, int]]):
        self.specials = specials  # (text, id, attr), longest first: the order that decides
        self._groups: dict[str, list[int]] = {}
        for i, (tok, _, _) in enumerate(specials):
            self._groups.setdefault(tok[:_PREFIX], []).append(i)

    def occurring(self, text: str, parse_special: bool) -> list[tuple[str, int, int]]:
        """The special tokens that occur in text (and apply), in partition order."""
        skip = 0 if parse_special else ATTR_CONTROL | ATTR_UNKNOWN
        found = []
        for prefix, members in self._groups.items():
            if prefix in text:
                for i in members:
                    tok, _, attr = self.specials[i]
                    if not attr & skip and tok in text:
                        found.append(i)
        found.sort()
        return [self.specials[i] for i in found]


def partition(text: str, specials: SpecialTokens, parse_special: bool) -> list:
    """-> list of fragments: str (raw text still to tokenize) or int (a special token id).

    A token that does not occur in the whole text cannot occur in any fragment of it, so only
    the occurring ones are tried - in the same longest-first order as llama.cpp."""
    if not text:
        return []
    frags: list = [text]
    for tok, tid, attr in specials.occurring(text, parse_special):
        new = []
        for f in frags:
            if type(f) is not str or tok not in f:
                new.append(f)
            else:
                _cut(f, tok, tid, attr, new)
        frags = new
    return frags


def _cut(raw: str, tok: str, tid: int, attr: int, out: list) -> None:
    start = 0
    while True:
        pos = raw.find(tok, start)
        if pos < 0:
            break
        left = raw[start:pos]
        if attr & ATTR_LSTRIP:
            left = left.rstrip(_ASCII_SPACE)
        if left:
            out.append(left)
        out.append(tid)
        start = pos + len(tok)
        if attr & ATTR_RSTRIP:
            while start < len(raw) and raw[start] in _ASCII_SPACE:
                start += 1
    if start < len(raw):
        out.append(raw[start:])
