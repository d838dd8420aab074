"""Start `llmrt serve` as a real process on a free port, for tests that talk HTTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import llmrt

# The server runs the llmrt these tests import: the installed package, or the working tree's
# python/ where tests run with PYTHONPATH=python (its native module built in place).
PYTHON_DIR = Path(llmrt.__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text: str) -> dict:
    """Prometheus text as {name{labels}: value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


class ServerProcess:
    def __init__(self, model: str, *args: str, api_key: str | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        cmd = [sys.executable, "-m", "llmrt.cli", "serve", model, "--port", str(self.port), *args]
        if api_key:
            cmd += ["--api-key", api_key]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), env.get("PYTHONPATH", "")])
        self.log = tempfile.TemporaryFile(mode="w+")   # a pipe nobody reads could fill and block it
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llmrt serve exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("llmrt serve did not answer /health in time")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def metrics(self) -> dict:
        """The Prometheus samples as {name{labels}: value}."""
        return parse_metrics(httpx.get(self.base + "/metrics", headers=self.headers, timeout=10).text)

    def openai(self, **kw):
        import openai

        return openai.OpenAI(base_url=self.base + "/v1", api_key=self.api_key or "none", **kw)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
