"""Pre-tokenizers of byte-level BPE models, chosen by `tokenizer.ggml.pre`.

llama.cpp (llm_tokenizer_bpe + unicode_regex_split) applies a *list* of regexes in order: each
one re-splits every piece the previous ones produced, and the text between matches is kept as
pieces of its own. The regexes below are llama.cpp's, in Python `regex` syntax, with two
deliberate changes so they match what llama.cpp does rather than what the regex text says:
  * `\\s` is llama.cpp's whitespace set (Unicode White_Space), written out, because its custom
    splitters and its std::regex fallback (which maps non-ASCII whitespace to \\x0B) both use
    exactly that set - not \\x1c-\\x1f, which Python's \\s would add;
  * case-insensitive contractions are spelled `'[sS]` etc., as llama.cpp adapted them.
Unicode classes (\\p{L}, \\p{N}, ...) come from the `regex` package; llama.cpp's own tables can
differ for code points assigned after its Unicode version.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from ..errors import TokenizerError

_WS = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def _expand(pattern: str) -> str:
    r"""Replace \s / \S by llama.cpp's whitespace set, inside and outside character classes."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(_WS if in_class else f"[{_WS}]")
            elif nxt == "S" and not in_class:
                out.append(f"[^{_WS}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
            out.append(c)
            if pattern[i + 1:i + 2] == "^":  # keep '^' and a leading ']' literal
                out.append("^")
                i += 1
        elif c == "]" and in_class:
            in_class = False
            out.append(c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


_CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3 = (_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2 = _LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
_QWEN35 = (_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# llama.cpp rewrote the Lu/Ll classes of these as lookaheads over [^a-z] / [^A-Z]; for non-ASCII
# letters that loses the case distinction, and we keep that behaviour for parity.
_UP = r"(?:(?=\p{L})[^a-z])"
_LO = r"(?:(?=\p{L})[^A-Z])"
_TEKKEN = (rf"[^\r\n\p{{L}}\p{{N}}]?{_UP}*{_LO}+|[^\r\n\p{{L}}\p{{N}}]?{_UP}+{_LO}*|\p{{N}}"
           r"| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_GPT4O = (rf"[^\r\n\p{{L}}\p{{N}}]?{_UP}*{_LO}+{_CONTRACTIONS}?|[^\r\n\p{{L}}\p{{N}}]?{_UP}+{_LO}*"
          rf"{_CONTRACTIONS}?|\p{{N}}{{1,3}}| ?[^\s\p{{L}}\p{{N}}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_UPM = r"(?:(?=[\p{L}\p{M}])[^a-z])"
_LOM = r"(?:(?=[\p{L}\p{M}])[^A-Z])"
_GRANITE_EMB = _GPT4O.replace(_UP, _UPM).replace(_LO, _LOM)
_DEEPSEEK3 = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
              r"| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_CJK_KANA = "[一-龥぀-ゟ゠-ヿ]+"
_BLOOM = r" ?[^(\s|.,!?…。，、।۔،)]+"
_DEEPSEEK_LLM_LETTERS = (  # escaped: the literal characters would be NFC-normalised by editors
    "A-Za-z\\xb5\\xc0-\\xd6\\xd8-\\xf6\\xf8-\\u01ba\\u01bc-\\u01bf\\u01c4-\\u0293\\u0295-\\u02af\\u0370-\\u0373"
    "\\u0376\\u0377\\u037b-\\u037d\\u037f\\u0386\\u0388-\\u038a\\u038c\\u038e-\\u03a1\\u03a3-\\u03f5"
    "\\u03f7-\\u0481\\u048a-\\u052f\\u0531-\\u0556\\u10a0-\\u10c5\\u13a0-\\u13f5\\u13f8-\\u13fd"
    "\\u1c90-\\u1cba\\u1cbd-\\u1cbf\\u1d00-\\u1d2b\\u1d6b-\\u1d77\\u1d79-\\u1d9a\\u1e00-\\u1f15"
    "\\u1f18-\\u1f1d\\u1f20-\\u1f45\\u1f48-\\u1f4d\\u1f50-\\u1f57\\u1f59\\u1f5b\\u1f5d\\u1f5f-\\u1f7d"
    "\\u1f80-\\u1fb4\\u1fb6-\\u1fbc\\u1fbe\\u1fc2-\\u1fc4\\u1fc6-\\u1fcc\\u1fd0-\\u1fd3\\u1fd6-\\u1fdb"
    "\\u1fe0-\\u1fec\\u1ff2-\\u1ff4\\u1ff6-\\u1ffc\\u2102\\u2107\\u210a-\\u2113\\u2115\\u2119-\\u211d"
    "\\u2124\\u2126\\u2128\\u212a-\\u212d\\u212f-\\u2134\\u2139\\u213c-\\u213f\\u2145-\\u2149\\u214e"
    "\\u2183\\u2184\\u2c00-\\u2c7b\\u2c7e-\\u2ce4\\u2ceb-\\u2cee\\u2cf2\\u2cf3\\ua640-\\ua66d"
    "\\ua680-\\ua69b\\ua722-\\ua76f\\ua771-\\ua787\\ua78b-\\ua78e\\uab70-\\uabbf\\ufb00-\\ufb06"
    "\\ufb13-\\ufb17\\uff21-\\uff3a\\uff41-\\uff5a\\U00010400-\\U0001044f\\U000104b0-\\U000104d3"
    "\\U000104d8-\\U000104fb\\U00010c80-\\U00010cb2\\U00010cc0-\\U00010cf2\\U000118a0-\\U000118df"
    "\\U0001e900-\\U0001e943")


@dataclass(frozen=True)
class PreTokenizer:
    """One llama.cpp pre-tokenizer type: its regex list and the vocab flags it implies."""

    kind: str
    regexes: tuple[str, ...]
    clean_spaces: bool = True    # llama_detokenize's " ," -> "," clean-up (BPE default)
    ignore_merges: bool = False  # a pre-token that is itself a token is not merged
    add_bos: bool = False        # default for add_bos when the metadata does not say

    def compile(self) -> list[regex.Pattern]:
        return [regex.compile(_expand(r)) for r in self.regexes]


_KINDS = {
    "default": PreTokenizer("default", (r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", "[0-9][0-9][0-9]")),
    "gpt2": PreTokenizer("gpt2", (_GPT2,)),
    "starcoder": PreTokenizer("starcoder", (r"\p{N}", _GPT2)),
    "smollm": PreTokenizer("smollm", (r"\p{N}", _GPT2), clean_spaces=False),
    "command-r": PreTokenizer("command-r", (r"\p{N}", _GPT2), clean_spaces=False),
    "llama3": PreTokenizer("llama3", (_LLAMA3,), ignore_merges=True, add_bos=True),
    "dbrx": PreTokenizer("dbrx", (_LLAMA3,)),
    "chatglm4": PreTokenizer("chatglm4", (_LLAMA3,)),
    "glm4": PreTokenizer("glm4", (_LLAMA3,), ignore_merges=True),
    "qwen2": PreTokenizer("qwen2", (_QWEN2,), clean_spaces=False),
    "stablelm2": PreTokenizer("stablelm2", (_QWEN2,)),
    "qwen35": PreTokenizer("qwen35", (_QWEN35,), clean_spaces=False),
    "deepseek-llm": PreTokenizer("deepseek-llm", (
        r"[\r\n]", rf"\s?[{_DEEPSEEK_LLM_LETTERS}]+", r"\s?[!-/:-~！-／：-～‘-‟　-。]+", r"\s+\Z",
        "[一-龥ࠀ-一가-퟿]+", r"\p{N}+"), clean_spaces=False),
    "deepseek-coder": PreTokenizer("deepseek-coder", (
        r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", r"\p{N}"), clean_spaces=False),
    "deepseek-v3": PreTokenizer("deepseek-v3", (r"\p{N}{1,3}", _CJK_KANA, _DEEPSEEK3), clean_spaces=False),
    "falcon": PreTokenizer("falcon", (r"[\p{P}\$\+<=>\^~\|`]+", _GPT2, "[0-9][0-9][0-9]")),
    "tekken": PreTokenizer("tekken", (_TEKKEN,), clean_spaces=False, ignore_merges=True, add_bos=True),
    "gpt-4o": PreTokenizer("gpt-4o", (_GPT4O,), clean_spaces=False),
    "granite-embed-multi-97m": PreTokenizer("granite-embed-multi-97m", (_GRANITE_EMB,),
                                            clean_spaces=False, ignore_merges=True),
    "bloom": PreTokenizer("bloom", (_BLOOM,)),
    "poro": PreTokenizer("poro", (_BLOOM,), clean_spaces=False),
    "viking": PreTokenizer("viking", (_BLOOM, r"\p{N}"), clean_spaces=False),
    "seed-coder": PreTokenizer("seed-coder", (
        _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+"
        r"|\s+(?!\S)|\s+",), clean_spaces=False),
    "bailingmoe": PreTokenizer("bailingmoe", (
        r"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
        r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+",), clean_spaces=False),
    "ufakzeka": PreTokenizer("ufakzeka", (
        r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",),
        clean_spaces=False),
    "minicpm5": PreTokenizer("minicpm5", (r"\p{N}{1,3}", _LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}+")),
                             ignore_merges=True),
    "laguna": PreTokenizer("laguna", (r"[^\n]+|[\n]+", _QWEN2), clean_spaces=False),
}

# tokenizer.ggml.pre value -> (kind, clean_spaces override or None)
_NAMES: dict[str, tuple[str, bool | None]] = {}


def _alias(kind: str, names: str, clean: bool | None = None) -> None:
    for n in names.split():
        _NAMES[n] = (kind, clean)


_alias("default", "default")
_alias("llama3", "llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano")
_alias("dbrx", "dbrx smaug-bpe")
_alias("deepseek-llm", "deepseek-llm")
_alias("deepseek-coder", "deepseek-coder")
_alias("deepseek-v3", "deepseek-v3 hunyuan-dense hy_v4 joyai-llm")
_alias("falcon", "falcon")
_alias("gpt2", "gpt2 mpt olmo jais gpt-2 phi-2 jina-es jina-de gigachat jina-v2-es "
       "jina-v2-de a.x-4.0 mellum modern-bert jina-v1-en jina-v2-code roberta-bpe exaone4")
_alias("gpt2", "trillion granite-docling", clean=False)
_alias("starcoder", "starcoder refact codeshell exaone minerva-7b mellum2")
_alias("command-r", "command-r")
_alias("smollm", "smollm")
_alias("qwen2", "qwen2 deepseek-r1-qwen kormo f2llmv2 hunyuan solar-open")
_alias("qwen2", "megrez", clean=True)
_alias("stablelm2", "stablelm2")
_alias("qwen35", "qwen35")
_alias("chatglm4", "chatglm-bpe")
_alias("glm4", "glm4 glm5")
_alias("tekken", "tekken")
_alias("gpt-4o", "gpt-4o llama4 kanana2 talkie minimax-m2")
_alias("granite-embed-multi-97m", "granite-embed-multi-97m")
_alias("bloom", "bloom gpt3-finnish")
_alias("poro", "poro-chat")
_alias("viking", "viking")
_alias("seed-coder", "seed-coder")
_alias("bailingmoe", "bailingmoe bailingmoe2 llada-moe")
_alias("ufakzeka", "ufakzeka")
_alias("qwen2", "grok-2")
_alias("minicpm5", "minicpm5")
_alias("laguna", "laguna")


def supported_pre_names() -> list[str]:
    return sorted(_NAMES)


def get_pretokenizer(name: str) -> PreTokenizer:
    """The pre-tokenizer for a `tokenizer.ggml.pre` value; TokenizerError naming unknown ones."""
    if name not in _NAMES:
        raise TokenizerError(f"unknown pre-tokenizer {name!r} (tokenizer.ggml.pre); supported: "
                             + ", ".join(supported_pre_names()))
    kind, clean = _NAMES[name]
    pre = _KINDS[kind]
    if clean is not None and clean != pre.clean_spaces:
        pre = PreTokenizer(pre.kind, pre.regexes, clean, pre.ignore_merges, pre.add_bos)
    return pre


def split(text: str, patterns: list[regex.Pattern]) -> list[str]:
    """Apply each regex to each piece in turn, keeping unmatched text as pieces too.

    Matching runs on the whole string with pos/endpos bounds, so lookarounds see each piece's
    end as the end of text, exactly as llama.cpp's per-piece regex iteration does.
    """
    bounds = [(0, len(text))] if text else []
    for pat in patterns:
        new = []
        for start, end in bounds:
            last = start
            for m in pat.finditer(text, start, end):
                s, e = m.span()
                if s == e:
                    continue
                if s > last:
                    new.append((last, s))
                new.append((s, e))
                last = e
            if last < end:
                new.append((last, end))
        bounds = new
    return [text[s:e] for s, e in bounds]
