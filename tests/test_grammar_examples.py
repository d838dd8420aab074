"""The grammars shipped in llmrt/grammar/examples/, and llama.cpp's own grammar files."""

import json
import os
import pathlib

import numpy as np
import pytest

import llmrt
from llmrt.errors import GrammarError
from llmrt.grammar import Grammar
from llmrt.tokenizer import Tokenizer

C_PROGRAM = """// sum of squares
int total = 0;
float scale = 1.5, bias;
int square(int x) { return x * x; }
void main(void) {
    int i;
    for (i = 0; i < 10; i++) {
        if (i % 2 == 0 && !(i > 7)) total += square(i);
        else { continue; }
    }
    /* done */
    while (total > 100) total = total / 2;
    print("total: %d\\n", total);
    return;
}
"""

# name -> (sentences, non-sentences). Whole-string acceptance in both directions.
SAMPLES = {
    "arithmetic": (["1+2=3\n", "(4 * 5) - 6 = 14\n", "x^2 + 2*x*y = sqrt(z, 1.5)\n-a=b\n"],
                   ["", "1+2=3", "1+=3\n", "(1=1\n", "1 = 2 = 3\n", "2 ** 3 = 8\n"]),
    "c": ([C_PROGRAM, "", "int f() { }", "char c = 'a'; int a[3];"],
          ["int f( { }", "f();", "int x = ;", "int 1x;", "return 0;", "int f() { x = 1 }"]),
    "chess": (["1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 4. O-O Nf6 1-0\n", "1. d4", "12. exd8=Q+ Rxd8 *",
               "1. Nbd2 R1e7 2. Qh4xe7# 1/2-1/2"],
              ["e4 e5", "1. e9", "1. Kz4", "1.e4", "1. e4  e5", "1. O-O-O-O", "1. e4 e5 f4"]),
    "english": (["Hello, world.", "The cat sat on the mat. It was happy!\n",
                 "Is it 5 o'clock? \"Yes,\" she said.", "I think (maybe) so - but not today...",
                 "First line.\n\nSecond paragraph; short."],
                ["hello.", "No end", "Two  spaces.", "Bad ,comma.", "", "Tab\there."]),
    "japanese": (["こんにちは、世界。", "カタカナとひらがな\n漢字も「使える」", "２０２４年 3月",
                  "ラーメン！"],
                 ["hello", "日本 語  です", "", "中文ok"]),
    "json": (["{}", '{"a": [1, 2.5, "x", true, null]}', ' "é\\u00e9"', "-0.5e+10",
              '{\n  "k": {\n    "n": []\n  }\n}\n'],
             ["{", "[1,]", '{"a" 1}', "01", "tru", "'x'", '{"a":1}}', "1 2"]),
    "json_arr": (["[\n]", '[\n{"a": 1},\n[1, 2],\n"x"\n]', "[\n  1,\n  2\n]"],
                 ["[]", "[1, 2]", "{}", "[\n1,\n]", "[\n1\n] "]),
    "list": (["- one\n- two\n", "* a\n  - nested\n  1. numbered\n3. three\n", "- ünïcødé 日本\n"],
             ["one\n", "- \n", "- a", "  - a\n", "-a\n", "- a\n    - too deep\n"]),
}


def test_every_example_is_listed_and_tested():
    assert Grammar.examples() == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_example_accepts_and_rejects(name):
    g = Grammar.from_example(name)
    good, bad = SAMPLES[name]
    for s in good:
        assert g.accepts(s), (name, s)
    for s in bad:
        assert not g.accepts(s), (name, s)


def test_json_is_the_json_example():
    assert Grammar.json().source == Grammar.from_example("json").source
    for v in [{}, [], {"a": [1, -2.5e3, "x\u00e9", True, None, {"b": {}}]}, "s", 0]:
        assert Grammar.json().accepts(json.dumps(v, indent=2))


def test_unknown_example():
    with pytest.raises(GrammarError, match="no example grammar named 'nope'.*json"):
        Grammar.from_example("nope")


@pytest.fixture(scope="module")
def smol_tok(smollm2_path):
    return Tokenizer.from_metadata(llmrt.GGUFFile(smollm2_path).metadata)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_example_constrains_random_generation(name, smol_tok):
    """Uniformly random allowed tokens from SmolLM2's vocabulary: every step stays a prefix of
    a sentence, and ending is only offered when the text is a whole sentence."""
    g = Grammar.from_example(name)
    rng = np.random.default_rng(7)
    eog = sorted(smol_tok.eog_ids)
    for _ in range(2):
        m = g.matcher(smol_tok)
        text = b""
        for _ in range(25):
            mask = m.allowed_mask()
            assert mask[eog].any() == g.accepts(text), text
            ids = np.flatnonzero(mask)
            if len(ids) == 0:
                break
            t = int(rng.choice(ids))
            m.accept(t)
            if m.is_finished():
                break
            text += smol_tok.token_to_piece(t)
            assert g.accepts_prefix(text), (name, text)


# ---- llama.cpp's own grammar files, read where they are on this machine -------------------

def _llama_cpp_grammar_dirs():
    """LLMRT_LLAMA_CPP_GRAMMARS (a directory of .gbnf files, e.g. vendor/llama.cpp/grammars of
    an extracted llama-cpp-python sdist), else grammars/ folders near an installed llama_cpp
    package (a source checkout installed in development mode keeps them there)."""
    env = os.environ.get("LLMRT_LLAMA_CPP_GRAMMARS")
    if env:
        return [pathlib.Path(env)]
    try:
        import importlib.util
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return []
    pkg = pathlib.Path(spec.origin).parent
    near = [pkg / "grammars", pkg.parent / "vendor/llama.cpp/grammars",
            pkg.parent.parent / "vendor/llama.cpp/grammars"]
    return [d for d in near if d.is_dir()]


def _llama_cpp_grammar_files():
    return sorted(p for d in _llama_cpp_grammar_dirs() for p in d.glob("*.gbnf"))


def test_llama_cpp_grammar_files_parse_unchanged():
    files = _llama_cpp_grammar_files()
    if not files:
        pytest.skip("llama.cpp's grammars/ not found (set LLMRT_LLAMA_CPP_GRAMMARS to a "
                    "directory such as <llama-cpp-python sdist>/vendor/llama.cpp/grammars)")
    for path in files:
        g = Grammar.from_gbnf(path.read_text(encoding="utf-8"))
        assert g.accepts_prefix(b""), path
    names = {p.stem for p in files}
    if "json" in names:
        g = Grammar.from_gbnf((files[0].parent / "json.gbnf").read_text(encoding="utf-8"))
        assert g.accepts('{"a": [1, 2.5, "x", true, null]}') and not g.accepts("[1,]")
