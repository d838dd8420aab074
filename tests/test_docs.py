"""docs/architecture.md names functions, classes and files; each must exist in the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
# `Engine.step`, `Context::forward`, `_admit`, `kv_shift`: code names in backticks
NAME = re.compile(r"`((?:[A-Za-z_][A-Za-z0-9_]*(?:\.|::))*[A-Za-z_][A-Za-z0-9_]*)`")
PATH = re.compile(r"`((?:python/llmrt|csrc|tools|tests|docs)/[^`\s]+|[a-z_/]+\.(?:py|h|cpp|md))`")


def _sources() -> str:
    files = [*(ROOT / "python" / "llmrt").rglob("*.py"), *(ROOT / "csrc").rglob("*.[ch]*")]
    return "\n".join(p.read_text(errors="replace") for p in files)


def test_named_code_exists():
    text = DOC.read_text()
    src = _sources()
    missing = []
    for name in set(NAME.findall(text)):
        parts = re.split(r"\.|::", name)
        last = parts[-1]
        if not re.search(rf"\b(def|class|struct)\s+{last}\b|\b{last}\s*\(|\b{last}\s*=|\b{last}\b::|::{last}\b", src):
            missing.append(name)
        for owner in parts[:-1]:
            if owner[0].isupper() and not re.search(rf"\b(class|struct)\s+{owner}\b", src):
                missing.append(name)
    assert not missing, f"docs/architecture.md names code that does not exist: {sorted(set(missing))}"


def test_named_files_exist():
    text = DOC.read_text()
    tree = [p.relative_to(ROOT).as_posix() for top in ("python", "csrc", "cuda", "tools", "tests", "docs")
            for p in (ROOT / top).rglob("*")]
    missing = [p for p in set(PATH.findall(text))
               if not any(t == p.rstrip("/") or t.endswith("/" + p.rstrip("/")) or t.startswith(p) for t in tree)]
    assert not missing, f"docs/architecture.md names files that do not exist: {sorted(missing)}"
