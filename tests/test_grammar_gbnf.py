"""GBNF parser: every construct, error positions, llama.cpp's own grammars."""

import json
import pathlib

import pytest

from llmrt.errors import GrammarError
from llmrt.grammar import Grammar

DATA = pathlib.Path(__file__).parent / "data"

ACCEPT = [
    # (grammar, accepted, rejected)
    ('root ::= "ab"', ["ab"], ["", "a", "abc"]),
    ('root ::= "a" | "b" | ""', ["a", "b", ""], ["ab"]),
    ('root ::= ("a" "b")* "c"', ["c", "abc", "ababc"], ["ac", "ab"]),
    ('root ::= [a-c]+', ["a", "cab"], ["", "d"]),
    ('root ::= [^a-c]', ["d", "é", "日"], ["a", "dd", ""]),
    ('root ::= .', ["x", "é", "😀"], ["", "xy"]),
    ('root ::= "x"?', ["", "x"], ["xx"]),
    ('root ::= "ab"{2}', ["abab"], ["ab", "ababab"]),
    ('root ::= [0-9]{2,}', ["12", "123456"], ["1"]),
    ('root ::= [0-9]{1,3}', ["1", "123"], ["", "1234"]),
    ('root ::= [0-9]{0,2}', ["", "12"], ["123"]),
    (r'root ::= "\n\t\\\"\x41\u00e9\U0001F600"', ["\n\t\\\"Aé😀"], ["x"]),
    (r'root ::= [\x00-\x1F\]\[]', ["\x01", "]", "["], ["a"]),
    ('root ::= a b  # comment\na ::= "x" # another\nb ::= (\n  "y" |\n  "z"\n)', ["xy", "xz"], ["x"]),
    ('root ::= item ("," item)*\nitem ::= [a-z-]+', ["a,b-c", "x"], ["a,", ",a"]),
    ('root ::= "日本" [ぁ-ゟ]', ["日本の"], ["日本a"]),
    ('root ::= x\nx ::= "(" x ")" | ""', ["", "()", "(())"], ["(()", ")("]),
]


@pytest.mark.parametrize("src,good,bad", ACCEPT)
def test_constructs(src, good, bad):
    g = Grammar.from_gbnf(src)
    for s in good:
        assert g.accepts(s), (src, s)
    for s in bad:
        assert not g.accepts(s), (src, s)


ERRORS = [
    # (grammar, message part, "line:col")
    ('root ::= foo', "undefined rule 'foo'", "1:10"),
    ('root ::= "x"\nfoo ::= bar', "undefined rule 'bar'", "2:9"),
    ('root ::= "x" ("y"', "expected ')'", "1:18"),
    ('root ::= "abc', "unterminated string", "1:14"),
    ('root ::= [abc', "unterminated character class", "1:14"),
    ('root := "x"', "expected '::='", "1:6"),
    ('root ::= "x"\n  ::= "y"', "expected a rule name", "2:3"),
    ('root ::= "\\q"', "unknown escape", "1:11"),
    ('root ::= "\\xZZ"', "hex digits", "1:13"),
    ('root ::= *', "must follow a symbol", "1:10"),
    ('root ::= "x"{3,1}', "n < m", "1:17"),
    ('root ::= "x"{a}', "expected an integer", "1:14"),
    ('root ::= "x"\nroot ::= "y"', "defined twice", "2:1"),
    ('root ::= [z-a]', "reversed", "1:13"),
    ('root ::= <[1000]>', "token references", "1:10"),
]


@pytest.mark.parametrize("src,msg,pos", ERRORS)
def test_errors_name_line_and_column(src, msg, pos):
    with pytest.raises(GrammarError) as e:
        Grammar.from_gbnf(src)
    assert msg in str(e.value) and f"line {pos}" in str(e.value), str(e.value)


@pytest.mark.parametrize("src", [
    'root ::= root "x" | "y"',
    'root ::= a\na ::= b "x"\nb ::= "" | a',
    'root ::= a root\na ::= "x"?',
])
def test_left_recursion_is_reported(src):
    with pytest.raises(GrammarError, match="left recursion"):
        Grammar.from_gbnf(src)


def test_missing_root_and_empty():
    with pytest.raises(GrammarError, match="no rule named 'root'"):
        Grammar.from_gbnf('start ::= "x"')
    assert Grammar.from_gbnf('start ::= "x"', root="start").accepts("x")
    with pytest.raises(GrammarError, match="no rules"):
        Grammar.from_gbnf("# nothing\n")


def test_right_recursion_does_not_grow_state():
    g = Grammar.from_gbnf('root ::= [a-z]*')
    sm = g._sm
    before = None
    sid = sm.initial
    for i in range(200):
        sid = sm.step(sid, ord("a"))
        if i == 10:
            before = len(sm.stacks)
    assert len(sm.stacks) == before


# llama.cpp's grammars/ folder as shipped in llama-cpp-python (recorded by
# tools/make_grammar_reference.py), with strings each is meant to describe.
LLAMA_CPP_SAMPLES = {
    "arithmetic_gbnf": (["1+2=3\n", "(4*5)-6=14\n"], ["1+=\n"]),
    # llama-cpp-python 0.3.36 ships JSON under the chess and japanese names
    "chess_gbnf": (['{"move": "e4"}'], ["1. e4"]),
    "json_gbnf": (['{"a": [1, 2.5, "x", true, null]}'], ['{"a" 1}', "[1,]"]),
    "json_arr_gbnf": (['[\n{"a": 1}\n]'], ["{}"]),
    "list_gbnf": (["- one\n- two\n"], ["one"]),
    "japanese_gbnf": (['{"挨拶": "こんにちは"}'], ["hello"]),
    "c_gbnf": (["int main(int a){a = 1;while(a<3){a = a+1;}}"], ["int ("]),
}


def _llama_cpp_grammars():
    return json.loads((DATA / "grammar_llama_cpp.json").read_text())["grammars"]


@pytest.mark.parametrize("name", sorted(LLAMA_CPP_SAMPLES))
def test_llama_cpp_grammar_files_parse_unchanged(name):
    g = Grammar.from_gbnf(_llama_cpp_grammars()[name])
    good, bad = LLAMA_CPP_SAMPLES[name]
    for s in good:
        assert g.accepts_prefix(s), (name, s)
    for s in bad:
        assert not g.accepts(s), (name, s)


def test_llama_cpp_source_package_grammars():
    """Reads llama-cpp-python's own copies when it is importable here."""
    lg = pytest.importorskip("llama_cpp.llama_grammar")
    for attr in dir(lg):
        if attr.endswith("_GBNF"):
            Grammar.from_gbnf(getattr(lg, attr))
