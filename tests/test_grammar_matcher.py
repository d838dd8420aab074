"""Token masks: brute force agreement, random walks, EOG, control tokens, real tokenizers."""

import json

import numpy as np
import pytest

import llmrt
from llmrt.errors import GrammarError
from llmrt.grammar import Grammar
from llmrt.tokenizer import Tokenizer

from grammar_reference import full_walk_mask


class ToyTokenizer:
    """Pieces chosen to cut UTF-8 characters and JSON structure at odd places."""

    def __init__(self):
        pieces = [b"", b"<eos>", b"<ctl>", b"{", b"}", b'"', b'":', b'",', b'"}', b"a", b"ab",
                  b"1", b"12", b"-", b"[", b"]", b"],", b" ", b"  ", b"true", b"tr", b"ue", b"null",
                  b"\xc3", b"\xa9", b"\xc3\xa9", "日".encode(), "日本".encode()[:4], b"\xe6",
                  b"\x97\xa5", b",", b":", b"\\", b'\\"', b"\n", b"x\x00", b"e", b".", b"5"]
        self.pieces = pieces
        self.n_vocab = len(pieces)
        self.eog_ids = frozenset({1})

    def token_to_piece(self, tid, special=False):
        return self.pieces[tid]

    def is_control(self, tid):
        return tid in (1, 2)


GRAMMARS = [
    Grammar.json(),
    Grammar.from_json_schema({"type": "object", "properties": {"a": {"type": "array", "items": {
        "type": "integer"}}, "ab": {"type": "string"}}, "required": ["a"]}),
    Grammar.from_gbnf('root ::= ("ab" | "日本" | [é])+ ("1" | "12")?'),
]


def brute_mask(g, prefix: bytes, tok):
    m = np.zeros(tok.n_vocab, bool)
    for t in range(tok.n_vocab):
        p = tok.token_to_piece(t)
        if t in tok.eog_ids:
            m[t] = g.accepts(prefix)
        elif p and p[0] != 0 and not tok.is_control(t):
            m[t] = g.accepts_prefix(prefix + p)
    return m


@pytest.mark.parametrize("gi", range(len(GRAMMARS)))
def test_mask_matches_brute_force_along_random_walks(gi):
    g, tok = GRAMMARS[gi], ToyTokenizer()
    rng = np.random.default_rng(gi)
    for walk in range(20):
        m = g.matcher(tok)
        text = b""
        for _ in range(40):
            mask = m.allowed_mask()
            np.testing.assert_array_equal(mask, brute_mask(g, text, tok), err_msg=repr(text))
            assert not mask[2] and not mask[0]
            ids = np.flatnonzero(mask)
            if len(ids) == 0:
                break
            t = int(rng.choice(ids))
            assert m.is_allowed(t)
            m.accept(t)
            if t == 1:
                assert m.is_finished() and g.accepts(text)
                break
            text += tok.token_to_piece(t)
            assert g.accepts_prefix(text)


def test_accept_rejects_disallowed_and_keeps_state():
    g, tok = Grammar.from_gbnf('root ::= "ab"'), ToyTokenizer()
    m = g.matcher(tok)
    with pytest.raises(GrammarError):
        m.accept(1)            # EOG before the grammar can end
    with pytest.raises(GrammarError):
        m.accept(2)            # control token
    m.accept(9)                # "a"
    c = m.clone()
    assert not m.can_end() and not m.is_finished()
    with pytest.raises(GrammarError):
        m.accept(9)
    c2 = c.clone()
    c2.reset()
    assert c2.allowed_mask()[10]           # "ab" from the start
    assert list(np.flatnonzero(c.allowed_mask())) == []  # "b" alone is no token here
    m2 = g.matcher(tok)
    m2.accept(10)                          # "ab"
    assert m2.can_end() and m2.is_finished()   # nothing can follow
    assert list(np.flatnonzero(m2.allowed_mask())) == [1]
    m2.accept(1)
    assert m2.is_finished()


def _real_tokenizer(path):
    return Tokenizer.from_metadata(llmrt.GGUFFile(path).metadata)


@pytest.mark.parametrize("which", ["smollm2_path", "gemma3_path"])
def test_real_tokenizer_json_documents(which, request):
    tok = _real_tokenizer(request.getfixturevalue(which))
    g = Grammar.from_json_schema({"type": "object", "properties": {
        "name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "n": {"type": "integer", "minimum": 0}}, "required": ["name"]})
    m = g.matcher(tok)
    doc = json.dumps({"name": "Zoë \"the\" 日本", "tags": ["a b", ""], "n": 42})
    ids = tok.tokenize(doc, add_special=False)
    for t in ids:
        mask = m.allowed_mask()
        assert mask[t], tok.token_to_piece(t)
        assert not any(mask[e] for e in tok.eog_ids)
        m.accept(t)
    mask = m.allowed_mask()
    assert m.can_end() and all(mask[e] for e in tok.eog_ids)
    # control tokens never allowed
    ctl = [t for t in range(tok.n_vocab) if tok.is_control(t) and t not in tok.eog_ids]
    assert not mask[ctl].any()


@pytest.mark.parametrize("which", ["smollm2_path", "gemma3_path"])
def test_real_tokenizer_random_walk_outputs_parse(which, request):
    tok = _real_tokenizer(request.getfixturevalue(which))
    g = Grammar.from_json_schema({"type": "array", "items": {"enum": ["yes", "no", 1]},
                                  "minItems": 1, "maxItems": 4})
    rng = np.random.default_rng(0)
    for _ in range(5):
        m = g.matcher(tok)
        out = b""
        for _ in range(60):
            ids = np.flatnonzero(m.allowed_mask())
            eog = [i for i in ids if i in tok.eog_ids]
            t = eog[0] if eog else int(rng.choice(ids))
            m.accept(t)
            if m.is_finished():
                break
            out += tok.token_to_piece(t)
        v = json.loads(out)
        assert 1 <= len(v) <= 4 and all(x in ("yes", "no", 1) for x in v)


@pytest.mark.parametrize("suffix_len", [1, 6])
def test_split_masks_equal_full_walk_masks(suffix_len, smollm2_path):
    """Masks from the per-suffix classification plus the restricted walk equal the plain walk of
    the whole vocabulary from the whole state, along random walks that favour structure (so
    nesting goes deep) and along a deeply nested document, with SmolLM2's real vocabulary."""
    from llmrt.grammar.matcher import MaskCache
    tok = _real_tokenizer(smollm2_path)
    g = Grammar.json()
    m = g.matcher(tok)
    cache = MaskCache(g._sm, m._cache.index, suffix_len=suffix_len)
    structural = np.array([any(c in (tok.token_to_piece(t) or b"") for c in b'{["],:')
                           for t in range(tok.n_vocab)])
    seen = set()

    def check(state):
        if state not in seen:
            seen.add(state)
            np.testing.assert_array_equal(cache.mask(state), full_walk_mask(cache, state))

    nested = {"a": 1}
    for i in range(5):
        nested = {"k": [nested, {"s": "x\u00e9", "n": [i, [True, None]]}]}
    m.reset()
    for t in tok.tokenize(json.dumps(nested), add_special=False):
        check(m.state)
        m.accept(t)
    rng = np.random.default_rng(suffix_len)
    for _ in range(3):
        m.reset()
        for _ in range(30):
            check(m.state)
            ids = np.flatnonzero(cache.mask(m.state))
            ids = [i for i in ids if i not in tok.eog_ids]
            if not ids:
                break
            pick = [i for i in ids if structural[i]]
            t = int(rng.choice(pick if pick and rng.random() < 0.7 else ids))
            m.accept(t)
    assert len(seen) > 60
