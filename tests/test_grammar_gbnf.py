"""GBNF parser: every construct, error positions. (Shipped grammars and llama.cpp's own grammar
files: test_grammar_examples.py.)"""

import pytest

from llmrt.errors import GrammarError
from llmrt.grammar import Grammar

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
