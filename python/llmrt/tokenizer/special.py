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


def partition(text: str, specials: list[tuple[str, int, int]], parse_special: bool) -> list:
    """-> list of fragments: str (raw text still to tokenize) or int (a special token id)."""
    if not text:
        return []
    frags: list = [text]
    skip = ATTR_CONTROL | ATTR_UNKNOWN
    for tok, tid, attr in specials:
        if not parse_special and attr & skip:
            continue
        # cheap test first: with thousands of special tokens most occur nowhere
        if not any(type(f) is str and tok in f for f in frags):
            continue
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
