#!/usr/bin/env python3
"""Record llama.cpp's rendering of chat conversations with each model's own template
(llama_chat_apply_template through llama-cpp-python; dev-only) into tests/data/chat_<alias>.json.

    /path/to/venv-with-llama-cpp/bin/python tools/make_chat_reference.py
"""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

CONVERSATIONS = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
    [{"role": "user", "content": "Tell me a joke."}, {"role": "assistant", "content": "Why did the chicken cross the road?"},
     {"role": "user", "content": "Why?"}],
]


def render(lib, template: bytes, messages) -> str:
    arr = (lib.llama_chat_message * len(messages))()
    keep = []
    for i, m in enumerate(messages):
        role, content = m["role"].encode(), m["content"].encode()
        keep += [role, content]
        arr[i].role, arr[i].content = role, content
    buf = ctypes.create_string_buffer(1 << 16)
    n = lib.llama_chat_apply_template(template, arr, len(messages), True, buf, len(buf))
    if n < 0:
        raise RuntimeError("llama.cpp does not recognise this template")
    return buf.raw[:n].decode()


def main() -> None:
    import llama_cpp as lib

    from llmrt import GGUFFile, models

    for alias in ("smollm2-135m", "gemma3-270m"):
        template = GGUFFile(models.resolve(alias)).metadata.get("tokenizer.chat_template")
        if not template:
            print(f"{alias}: no chat template in the GGUF, skipped", file=sys.stderr)
            continue
        cases = []
        for conv in CONVERSATIONS:
            try:
                text = render(lib, template.encode(), conv)
            except RuntimeError:
                continue
            cases.append({"messages": conv, "prompt": text})
        out = ROOT / "tests" / "data" / f"chat_{alias}.json"
        out.write_text(json.dumps({"producer": f"llama.cpp via llama-cpp-python {lib.__version__}",
                                   "cases": cases}, indent=1) + "\n")
        print(f"wrote {out}: {len(cases)} conversations", file=sys.stderr)


if __name__ == "__main__":
    main()
