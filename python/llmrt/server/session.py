"""The choices of one HTTP request running in the engine: their deliveries as one stream, and
their cancellation when the client goes away."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator

from ..generation import Request
from .runner import Delivery, EngineRunner

# How often a non-streaming request checks whether its client is still connected.
DISCONNECT_POLL_S = 0.25


@dataclass
class ChoiceResult:
    text: str = ""
    tokens: list = field(default_factory=list)
    logprobs: list = field(default_factory=list)       # per token: (logprob, [(id, logprob)])
    finish_reason: str = ""
    error: BaseException | None = None


class Choices:
    def __init__(self, runner: EngineRunner, reqs: list[Request]):
        self.runner = runner
        self.reqs = reqs
        self.queue: asyncio.Queue = asyncio.Queue()
        self.open = set(range(len(reqs)))

    def start(self) -> None:
        for i, req in enumerate(self.reqs):
            self.runner.submit(req, self.queue, i)

    def cancel(self) -> None:
        for i in self.open:
            self.runner.cancel(self.reqs[i])

    async def deliveries(self) -> AsyncIterator[Delivery]:
        """Every delivery until all choices are done; leaving early (a client gone, an error)
        cancels the choices still running."""
        self.start()
        try:
            while self.open:
                d = await self.queue.get()
                if d.done:
                    self.open.discard(d.index)
                yield d
        finally:
            self.cancel()

    async def collect(self, http_request=None) -> list[ChoiceResult]:
        """Run to the end; a client that disconnects meanwhile cancels them."""
        results = [ChoiceResult() for _ in self.reqs]
        task = asyncio.ensure_future(self._gather(results))
        try:
            while not task.done():
                await asyncio.wait([task], timeout=DISCONNECT_POLL_S)
                if not task.done() and http_request is not None and await http_request.is_disconnected():
                    task.cancel()
                    break
            return await task
        finally:
            if not task.done():
                task.cancel()
            self.cancel()

    async def _gather(self, results: list[ChoiceResult]) -> list[ChoiceResult]:
        async for d in self.deliveries():
            r = results[d.index]
            for ev in d.events:
                r.text += ev.text
                if ev.token is not None:
                    r.tokens.append(ev.token)
                    if ev.logprob is not None:
                        r.logprobs.append((ev.logprob, ev.top_logprobs or []))
            if d.done:
                req = self.reqs[d.index]
                r.finish_reason = req.stats.finish_reason
                r.error = d.error
        return results
