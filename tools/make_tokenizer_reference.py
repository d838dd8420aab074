"""Record llama.cpp's tokenizer behaviour as test fixtures (tests/data/tokenizer_<model>.json).

Run with a Python that has llama-cpp-python (dev-only; the tests never import it):
    /opt/lcpp/bin/python tools/make_tokenizer_reference.py [model.gguf ...]

Without arguments it records the two models shipped on the package index (SmolLM2-135M,
Gemma-3-270M) from ~/.cache/llmrt/models. For every corpus string it stores the ids of
llama_tokenize for all four (add_special, parse_special) combinations; for the ids it stores
llama_detokenize with all four (remove_special, unparse_special) flags and llama-cpp-python's
Llama.detokenize; plus token_to_piece for a sample of ids and a few random id lists (byte
tokens, partial UTF-8, control tokens) so detokenization is checked away from round trips too.

Identical variants are stored once: a later variant whose value equals an earlier one holds
that variant's key instead of a copy, which keeps each file well under 200 KB.
"""

import ctypes
import json
import os
import random
import sys

import llama_cpp

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
}


def corpus() -> list[str]:
    """At least 200 strings that exercise every branch of the pre-tokenizers and SPM."""
    base = [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\t\t\tx", "a\n\n\nb",
        "Hello", "Hello world", " Hello world", "  Hello  world  ", "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "I'm don't you'll they're we've he'd she's", "I'M DON'T YOU'LL", "'s 't 're",
        "rock 'n' roll", "''''", "\"quoted\" 'single'",
        "12345678", "1 22 333 4444 55555", "3.14159", "-42", "1,000,000", "0x1F", "v1.2.3",
        "2024-01-01T12:00:00Z", "99 bottles", "a1b2c3", "١٢٣٤", "Ⅻ ½ ²",
        "def f(x):\n    return x * 2\n", "if (a && b) { c++; }", "\tindented\twith\ttabs",
        "for i in range(10):\n\tprint(i)", "    four spaces", "x = {'a': [1, 2, 3]}",
        "#include <stdio.h>\nint main() { return 0; }", "SELECT * FROM t WHERE id=1;",
        "<div class=\"x\">hi</div>", "a->b => c != d <= e", "foo_bar_baz", "camelCaseWord",
        "http://example.com/path?q=1&r=2", "user@example.com", "$100 + 50% = ?", "~!@#$%^&*()_+",
        "café", "naïve résumé", "Ångström", "e\u0301 vs \u00e9", "a\u0300\u0301\u0302",
        "Straße", "Ελληνικά", "Привет, мир!", "Здравствуйте", "日本語のテキスト", "中文测试",
        "你好，世界！", "한국어 텍스트", "مرحبا بالعالم", "שלום עולם", "हिन्दी पाठ", "ภาษาไทย",
        "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇺🇸🇫🇷", "emoji 🎉 party",
        "\u00a0nbsp\u00a0here", "zero\u200bwidth", "\u2003em space", "ideographic\u3000space",
        "\ufeffbom", "line\u2028sep", "soft\u00adhyphen", "\u0085nel", "tab\u000bvt\u000cff",
        "\ufffd replacement", "\x00nul", "\x01\x02ctrl", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010fffd",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "!!!!!!!!!!!!!!!!", "         ",
        "..........", "----------", "ab" * 40, "\n" * 10, " \t \t ",
        "<|im_start|>user\nhi<|im_end|>", "<|im_start|>system\nYou are helpful.<|im_end|>\n",
        "<|endoftext|>", "<|endoftext|>text<|endoftext|>", "<start_of_turn>user\nhi<end_of_turn>",
        "<start_of_turn>model\n", "<bos>hello<eos>", "<pad><unk>", "<|im_start|><|im_end|>",
        "text <|im_end|> text", " <start_of_turn> ", "<|im_start", "<start_of_turn",
        "<s></s>", "[INST] hi [/INST]", "<mask>", "<unused0>", "<start_of_image>",
    ]
    extra = []
    for s in base[12:60]:
        extra.append(" " + s)
        extra.append(s + "\n")
    extra += [
        "The year 1984 was 40 years before 2024.", "Mixed 日本 and English and 123 numbers",
        "Tabs\tand\nnewlines\r\nmixed", "Привет 👋 мир 🌍", "a  b   c    d", "end with space ",
        "  leading two", "\n\nleading newlines", "trailing newlines\n\n", "x" * 100,
        "Ünïcödé ÀÉÎÕÜ", "ﬁ ligature", "ｆｕｌｌｗｉｄｔｈ", "½¼¾", "°C ±5 µm", "™®©",
        "- item 1\n- item 2\n  - nested", "| a | b |\n|---|---|", "```python\nx=1\n```",
    ]
    out = list(dict.fromkeys(base + extra))
    assert len(out) >= 200, len(out)
    return out


def dedupe(variants: dict) -> dict:
    out, seen = {}, []
    for key, value in variants.items():
        for k in seen:
            if variants[k] == value:
                out[key] = k
                break
        else:
            out[key] = value
            seen.append(key)
    return out


def as_json_bytes(b: bytes):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": b.hex()}


class Ref:
    def __init__(self, path: str):
        self.llm = llama_cpp.Llama(path, vocab_only=True, verbose=False)
        self.vocab = self.llm._model.vocab
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)

    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> list[int]:
        data = text.encode("utf-8")
        n = len(data) + 8
        buf = (llama_cpp.llama_token * n)()
        got = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, n, add_special, parse_special)
        assert got >= 0, got
        return list(buf[:got])

    def detokenize(self, ids: list[int], remove_special: bool, unparse_special: bool) -> bytes:
        arr = (llama_cpp.llama_token * max(1, len(ids)))(*ids)
        n = 64 + 64 * len(ids)
        buf = ctypes.create_string_buffer(n)
        got = llama_cpp.llama_detokenize(self.vocab, arr, len(ids), buf, n, remove_special, unparse_special)
        assert got >= 0, got
        return buf.raw[:got]

    def piece(self, tid: int, special: bool) -> bytes:
        buf = ctypes.create_string_buffer(256)
        got = llama_cpp.llama_token_to_piece(self.vocab, tid, buf, 256, 0, special)
        assert got >= 0
        return buf.raw[:got]

    def detok_record(self, ids: list[int]) -> dict:
        rec = {}
        for rs in (False, True):
            for us in (False, True):
                rec[f"{int(rs)}{int(us)}"] = as_json_bytes(self.detokenize(ids, rs, us))
        rec["llama_cpp_python"] = as_json_bytes(self.llm.detokenize(ids))
        return dedupe(rec)


def record(name: str, path: str, out_dir: str) -> None:
    ref = Ref(path)
    v = ref.vocab
    meta = {
        "n_vocab": ref.n_vocab,
        "bos": llama_cpp.llama_vocab_bos(v),
        "eos": llama_cpp.llama_vocab_eos(v),
        "eot": llama_cpp.llama_vocab_eot(v),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(v)),
        "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(v)),
        "eog": [i for i in range(ref.n_vocab) if llama_cpp.llama_vocab_is_eog(v, i)],
    }
    cases = []
    for text in corpus():
        ids = {}
        for a in (False, True):
            for p in (False, True):
                ids[f"{int(a)}{int(p)}"] = ref.tokenize(text, a, p)
        with_special = ref.tokenize(text, True, True)
        cases.append({"text": text, "ids": dedupe(ids), "detok": ref.detok_record(with_special)})

    rng = random.Random(1234)
    sample = sorted(set(list(range(0, 300)) + rng.sample(range(ref.n_vocab), 300)))
    pieces = {str(t): [as_json_bytes(ref.piece(t, False)), as_json_bytes(ref.piece(t, True))] for t in sample}
    id_lists = [[rng.randrange(ref.n_vocab) for _ in range(rng.randint(1, 12))] for _ in range(30)]
    id_lists += [[rng.randrange(0, 300) for _ in range(8)] for _ in range(20)]  # bytes/control
    random_detok = [{"ids": ids, "detok": ref.detok_record(ids)} for ids in id_lists]

    doc = {"model": os.path.basename(path), "meta": meta, "cases": cases,
           "pieces": pieces, "random_detok": random_detok}
    out = os.path.join(out_dir, f"tokenizer_{name}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{out}: {len(cases)} strings, {os.path.getsize(out) / 1024:.0f} KB")


def main(argv: list[str]) -> None:
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    os.makedirs(out_dir, exist_ok=True)
    if argv:
        for p in argv:
            record(os.path.splitext(os.path.basename(p))[0].lower(), p, out_dir)
        return
    cache = os.path.expanduser("~/.cache/llmrt/models")
    for name, fname in MODELS.items():
        record(name, os.path.join(cache, fname), out_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
