"""Grammar-constrained decoding: GBNF grammars, JSON Schema, token masks.

    g = Grammar.from_gbnf(text)                 # llama.cpp's GBNF
    g = Grammar.from_json_schema(schema)        # dict or JSON text; g.warnings
    g = Grammar.json()                          # any JSON value
    g = Grammar.from_example("chess")           # a grammar shipped in grammar/examples/
    m = g.matcher(tokenizer)                    # one per sequence
    mask = m.allowed_mask(); m.accept(token_id); m.is_finished()
"""

from __future__ import annotations

import threading
import weakref
from importlib import resources

from ..errors import GrammarError
from .gbnf import parse_gbnf
from .matcher import GrammarMatcher, MaskCache, StackMachine, token_index
from .program import Program

__all__ = ["Grammar", "GrammarMatcher", "GrammarError"]

_EXAMPLES = resources.files(__package__) / "examples"


class Grammar:
    """A compiled grammar. Immutable and shareable: transition tables and mask caches built
    while matching are kept here and reused by every matcher of this grammar."""

    def __init__(self, program: Program, source: str = ""):
        self.program = program
        self.source = source          # the GBNF text this grammar was built from
        self._sm = StackMachine(program)
        self._caches: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.warnings: list[str] = []   # what a compiler ignored (unknown schema keywords)

    @classmethod
    def from_gbnf(cls, text: str, root: str = "root") -> "Grammar":
        return cls(Program(parse_gbnf(text), root), text)

    @classmethod
    def from_json_schema(cls, schema, *, strict: bool = False,
                         any_order: bool = False) -> "Grammar":
        """A grammar for the JSON documents valid against `schema` (dict, bool or JSON text).

        Sound: every accepted document validates; a schema that cannot be compiled exactly
        raises GrammarError naming the keyword and JSON pointer. Unknown keywords are
        annotations: ignored and listed in `.warnings` (strict=True refuses them). Properties
        are written in schema order; any_order=True accepts any order for objects of at most
        8 declared properties. Integers are written without fraction or exponent."""
        from .schema import compile_schema
        try:
            text, warnings = compile_schema(schema, strict=strict, any_order=any_order)
        except GrammarError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as e:
            # the schema is user data: whatever in it the compiler trips over is a bad schema
            raise GrammarError(f"JSON schema cannot be converted: {type(e).__name__}: {e}") from None
        g = cls.from_gbnf(text)
        g.warnings = warnings
        return g

    @classmethod
    def json(cls) -> "Grammar":
        """Any JSON value (examples/json.gbnf)."""
        return cls.from_example("json")

    @staticmethod
    def examples() -> list[str]:
        """Names of the grammars shipped in llmrt/grammar/examples/ (for from_example)."""
        return sorted(p.name[:-5] for p in _EXAMPLES.iterdir() if p.name.endswith(".gbnf"))

    @classmethod
    def from_example(cls, name: str) -> "Grammar":
        """A grammar shipped with llmrt: arithmetic, c, chess, english, japanese, json,
        json_arr, list."""
        path = _EXAMPLES / f"{name}.gbnf"
        if not path.is_file():
            raise GrammarError(f"no example grammar named {name!r}; "
                               f"have {', '.join(cls.examples())}")
        return cls.from_gbnf(path.read_text(encoding="utf-8"))

    @classmethod
    def from_regex(cls, pattern: str) -> "Grammar":
        from .regex import regex_to_gbnf
        return cls.from_gbnf(regex_to_gbnf(pattern))

    def matcher(self, tokenizer) -> GrammarMatcher:
        with self._lock:
            index = token_index(tokenizer)
            cache = self._caches.get(index)
            if cache is None:
                cache = MaskCache(self._sm, index)
                self._caches[index] = cache
        return GrammarMatcher(cache)

    def accepts(self, text: str | bytes) -> bool:
        """Whether the whole of `text` is a sentence of the grammar (byte by byte)."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        sid = self._sm.walk(self._sm.initial, data)
        return bool(sid) and self._sm.accepting[sid]

    def accepts_prefix(self, text: str | bytes) -> bool:
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return bool(self._sm.walk(self._sm.initial, data))
