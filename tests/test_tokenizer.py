"""llmrt.tokenizer against llama.cpp (fixtures from tools/make_tokenizer_reference.py) and
unit tests of the pieces that have no model here (other pre-tokenizers, synthetic vocabularies)."""

import functools
import json
import os

import numpy as np
import pytest

from llmrt.errors import TokenizerError
from llmrt.tokenizer import Tokenizer, pretokenize

DATA = os.path.join(os.path.dirname(__file__), "data")


@functools.lru_cache(maxsize=None)
def load_metadata(path: str) -> dict:
    """GGUF metadata as the runtime reads it (llmrt's own loader)."""
    from llmrt import GGUFFile

    return GGUFFile(path).metadata


@functools.lru_cache(maxsize=None)
def _tokenizer(path: str) -> Tokenizer:
    return Tokenizer.from_metadata(load_metadata(path))


def _reference(name: str) -> dict:
    with open(os.path.join(DATA, f"tokenizer_{name}.json"), encoding="utf-8") as f:
        return json.load(f)


def _resolve(d: dict, key: str):
    """Fixture values are deduplicated: a value naming an earlier key means 'same as that'."""
    v = d[key]
    keys = list(d)
    while isinstance(v, str) and v in d and keys.index(v) < keys.index(key):
        key, v = v, d[v]
    return v


def _as_bytes(v) -> bytes:
    return bytes.fromhex(v["hex"]) if isinstance(v, dict) else v.encode("utf-8")


@pytest.fixture(params=["smollm2", "gemma3"])
def model(request, smollm2_path, gemma3_path):
    path = smollm2_path if request.param == "smollm2" else gemma3_path
    return _tokenizer(str(path)), _reference(request.param), request.param


def test_metadata_facts(model):
    tok, ref, name = model
    m = ref["meta"]
    assert tok.n_vocab == m["n_vocab"]
    assert (tok.bos_id, tok.eos_id, tok.add_bos, tok.add_eos) == (m["bos"], m["eos"], m["add_bos"], m["add_eos"])
    assert tok.eog_ids == set(m["eog"])
    assert all(tok.is_eog(i) for i in m["eog"]) and not tok.is_eog(m["n_vocab"] - 1) or m["n_vocab"] - 1 in m["eog"]
    # llama.cpp picks the EOT among candidate texts in hash-map order; ours is in a fixed order,
    # so only require it to be an end-of-generation token (and equal where there is one candidate)
    assert tok.eot_id in tok.eog_ids
    if name == "gemma3":
        assert tok.eot_id == m["eot"] and tok.token_text(tok.eot_id) == "<end_of_turn>"


def test_tokenize_parity(model):
    tok, ref, _ = model
    assert len(ref["cases"]) >= 200
    bad = []
    for case in ref["cases"]:
        for key in ("00", "01", "10", "11"):
            want = _resolve(case["ids"], key)
            got = tok.tokenize(case["text"], add_special=key[0] == "1", parse_special=key[1] == "1")
            if got != want:
                bad.append((case["text"], key, want, got))
    assert not bad, f"{len(bad)} mismatches, first: {bad[:3]}"


def _detok_items(tok, ref):
    items = [(tok.tokenize(c["text"], True, True), c["detok"], c["text"]) for c in ref["cases"]]
    return items + [(r["ids"], r["detok"], None) for r in ref["random_detok"]]


def test_detokenize_parity(model):
    tok, ref, _ = model
    bad = []
    for ids, detok, _ in _detok_items(tok, ref):
        for key in ("00", "01", "10", "11"):
            want = _as_bytes(_resolve(detok, key))
            got = tok.detokenize_bytes(ids, remove_special=key[0] == "1", unparse_special=key[1] == "1")
            if got != want:
                bad.append((ids, key, want, got))
    assert not bad, f"{len(bad)} mismatches, first: {bad[:3]}"


def test_round_trip_where_llama_cpp_round_trips(model):
    tok, ref, _ = model
    n = 0
    for ids, detok, text in _detok_items(tok, ref):
        if text is not None and _as_bytes(_resolve(detok, "11")) == text.encode():
            assert tok.detokenize(ids, remove_special=True, unparse_special=True) == text
            n += 1
    assert n > 150


def test_token_to_piece_parity(model):
    tok, ref, _ = model
    for tid, (plain, special) in ref["pieces"].items():
        assert tok.token_to_piece(int(tid)) == _as_bytes(plain), tid
        assert tok.token_to_piece(int(tid), special=True) == _as_bytes(special), tid


def test_streaming_matches_detokenize(model):
    tok, ref, _ = model
    for ids, _, _ in _detok_items(tok, ref):
        for rs, us in ((False, False), (True, True)):
            sd = tok.streaming_detokenizer(remove_special=rs, unparse_special=us)
            parts = [sd.feed(i) for i in ids] + [sd.flush()]
            assert "".join(parts) == tok.detokenize(ids, rs, us)
            assert all("\ufffd" not in p for p in parts[:-1]) or "\ufffd" in tok.detokenize(ids, rs, us)


def test_streaming_holds_partial_utf8(model):
    tok, _, _ = model
    ids = tok.tokenize("😀 日本", add_special=False)
    sd = tok.streaming_detokenizer()
    out = [sd.feed(i) for i in ids]
    assert "".join(out) + sd.flush() == "😀 日本"
    assert all("\ufffd" not in o for o in out)


def test_errors(model):
    tok, _, _ = model
    with pytest.raises(TokenizerError, match="out of range"):
        tok.detokenize([tok.n_vocab])
    with pytest.raises(TokenizerError):
        tok.token_to_piece(-1)
    with pytest.raises(TokenizerError, match="UTF-8"):
        tok.tokenize(b"abc\xff")
    with pytest.raises(TokenizerError):
        tok.tokenize("lone \ud800 surrogate")
    assert tok.tokenize(b"caf\xc3\xa9", add_special=False) == tok.tokenize("café", add_special=False)


def test_unknown_pre_is_named(smollm2_path):
    md = dict(load_metadata(str(smollm2_path)))
    md["tokenizer.ggml.pre"] = "no-such-pre"
    with pytest.raises(TokenizerError, match="no-such-pre"):
        Tokenizer.from_metadata(md)


# ---- pre-tokenizers without a model: the regex-level split --------------------------------
SPLITS = [
    ("gpt-2", "Hello world's 123  x", ["Hello", " world", "'s", " 123", " ", " x"]),
    ("llama-bpe", "I'M 12345 abc", ["I", "'M", " ", "123", "45", " abc"]),
    ("llama3", "a\n\n  b", ["a", "\n\n", " ", " b"]),
    ("qwen2", "12345 abc", ["1", "2", "3", "4", "5", " abc"]),
    ("smollm", "abc123 def", ["abc", "1", "2", "3", " def"]),
    ("starcoder", "x1 y22", ["x", "1", " y", "2", "2"]),
    ("deepseek-v3", "1234中文abc", ["123", "4", "中文", "abc"]),
    ("deepseek-llm", "Hello\nworld 42", ["Hello", "\n", "world", " ", "42"]),
    ("deepseek-coder", "abc 123", ["abc", " ", "1", "2", "3"]),
    ("falcon", "a+b=1234", ["a", "+", "b", "=", "123", "4"]),
    ("default", "a+b=1234", ["a", "+", "b", "=", "123", "4"]),
    ("gpt-4o", "HelloWorld CamelCASE", ["Hello", "World", " Camel", "CASE"]),
    ("tekken", "HelloWorld 42", ["Hello", "World", " ", "4", "2"]),
    ("bloom", "hello, world", ["hello", ",", " world"]),
    ("gpt-2", "a\u00a0\u00a0b", ["a", "\u00a0", "\u00a0", "b"]),  # NBSP: whitespace, not ' '
    ("gpt-2", "a\x1c\x1cb", ["a", "\x1c\x1c", "b"]),        # \x1c is not (llama.cpp's set)
]


@pytest.mark.parametrize("pre,text,want", SPLITS)
def test_pretokenizer_split(pre, text, want):
    assert pretokenize.split(text, pretokenize.get_pretokenizer(pre).compile()) == want


@pytest.mark.parametrize("pre", pretokenize.supported_pre_names())
def test_every_pretokenizer_covers_its_input(pre):
    text = "Hello  world's 12345 日本語 😀\n\n\tcode(x) != y; ÀÉ ٣ ok"
    parts = pretokenize.split(text, pretokenize.get_pretokenizer(pre).compile())
    assert "".join(parts) == text and all(parts)


def test_unknown_pretokenizer_name():
    with pytest.raises(TokenizerError, match="'bogus'"):
        pretokenize.get_pretokenizer("bogus")


# ---- synthetic vocabularies: SPM byte fallback and cut safety, BPE clean-up streaming -------
def _spm_metadata(tokens, scores, types):
    return {"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.scores": np.array(scores, np.float32),
            "tokenizer.ggml.token_type": np.array(types, np.int32),
            "tokenizer.ggml.add_space_prefix": True}


def test_spm_synthetic_merges_byte_fallback_and_cross_space_token():
    base = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    words = ["▁", "a", "b", ">", "<", "/", "▁a", "ab", "▁ab", ">▁", "</", ">▁</"]
    tokens = base + words
    scores = [0.0] * len(base) + [-1, -1, -1, -1, -1, -1, -2, -3, -1, -1, -1, -0.5]
    types = [2, 3, 3] + [6] * 256 + [1] * len(words)
    tok = Tokenizer.from_metadata(_spm_metadata(tokens, scores, types))
    t = tok.token_id
    assert tok.tokenize("ab", add_special=False) == [t("▁ab")]
    # 'é' is no token: byte fallback to its two UTF-8 bytes
    assert tok.tokenize("é", add_special=False) == [t("▁"), t("<0xC3>"), t("<0xA9>")]
    # '>▁</' spans a '▁': the piece cut before '▁' must not separate '>' from it
    assert tok.tokenize("> </", add_special=False) == [t("▁"), t(">▁</")]
    # llama_detokenize strips the prefix space from the first token only; a leading BOS
    # (removed or not) takes that place, so the space stays - exactly as llama.cpp does
    ids = tok.tokenize("ab é")
    assert tok.detokenize(ids, remove_special=True) == " ab é"
    assert tok.detokenize(ids) == " ab é"
    assert tok.detokenize(ids[1:]) == "ab é"


def test_bpe_clean_spaces_streaming():
    from llmrt.tokenizer.bpe import byte_encode
    words = ["a", "b", "Ġ", ",", "'", "s", "Ġ'"]
    md = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
          "tokenizer.ggml.tokens": words, "tokenizer.ggml.merges": ["Ġ '"],
          "tokenizer.ggml.token_type": np.ones(len(words), np.int32)}
    tok = Tokenizer.from_metadata(md)
    assert tok.pre.clean_spaces
    ids = tok.tokenize("a , b 's a ' b", add_special=False)
    assert byte_encode(" ") == "Ġ"
    text = tok.detokenize(ids)
    assert text == "a, b's a'b"  # llama_detokenize's clean-up rules
    sd = tok.streaming_detokenizer()
    assert "".join(sd.feed(i) for i in ids) + sd.flush() == text
