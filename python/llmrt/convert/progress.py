"""Progress on stderr without tqdm: one line, the current tensor's bar and the overall bar.

Redrawn at most every 0.1 s (and at each tensor's end) so a million small updates cost nothing.
Silent when disabled (tests, pipes unless asked for)."""

from __future__ import annotations

import sys
import time


def _bar(frac: float, width: int) -> str:
    filled = int(round(max(0.0, min(1.0, frac)) * width))
    return "#" * filled + "." * (width - filled)


class Progress:
    def __init__(self, total_bytes: int, n_tensors: int, enabled: bool | None = None, stream=None,
                 label: str = ""):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = max(1, total_bytes)
        self.n_tensors = n_tensors
        self.label = label
        self.done = 0           # bytes of finished tensors
        self.index = 0          # 1-based index of the current tensor
        self.name = ""
        self.cur = 0            # bytes of the current tensor done
        self.cur_total = 1
        self.t0 = time.monotonic()
        self._last_draw = 0.0

    def start_tensor(self, name: str, nbytes: int) -> None:
        self.index += 1
        self.name, self.cur, self.cur_total = name, 0, max(1, nbytes)
        self._draw(force=True)

    def advance(self, nbytes: int) -> None:
        self.cur += nbytes
        self._draw()

    def end_tensor(self) -> None:
        self.cur = self.cur_total
        self._draw(force=True)
        self.done += self.cur_total
        self.cur = 0

    def finish(self) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.t0
            self.stream.write(f"\r{self.label}{self.n_tensors} tensors, "
                              f"{self.total / 2**20:.1f} MiB in {elapsed:.1f} s\033[K\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        overall = (self.done + self.cur) / self.total
        name = self.name if len(self.name) <= 32 else "…" + self.name[-31:]
        self.stream.write(f"\r{self.label}[{self.index}/{self.n_tensors}] {name:<32} "
                          f"[{_bar(self.cur / self.cur_total, 16)}] "
                          f"total [{_bar(overall, 24)}] {100 * overall:5.1f}%\033[K")
        self.stream.flush()
