"""One background thread drives the engine; HTTP handlers talk to it through an inbox and get
each request's output on an asyncio queue.

Only the runner thread touches the Engine: handlers post submissions and cancellations, which
the thread takes between steps. So a cancel never waits for a decode (a 512-token prefill step
takes a few hundred milliseconds on two cores) and the event loop never blocks on the engine's
lock. After every step the thread hands each request's new events to its queue
(`loop.call_soon_threadsafe`) and publishes a snapshot of the engine's counters for /metrics.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from ..engine import Engine
from ..errors import ContextError
from ..generation import Request, TokenEvent


@dataclass
class Delivery:
    """What a request produced since the last delivery; `done` with the last one."""
    index: int = 0                        # which of the HTTP request's choices
    events: list[TokenEvent] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


@dataclass
class _Client:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    index: int


def _put_all(items) -> None:
    for queue, item in items:
        queue.put_nowait(item)


class EngineRunner:
    def __init__(self, engine: Engine, on_finished=None, on_step=None):
        self.engine = engine
        self.on_finished = on_finished    # called with each request once it is done
        self.on_step = on_step            # called with the tokens generated in each step
        self._inbox: deque = deque()
        self._wake = threading.Condition()
        self._clients: dict[Request, _Client] = {}
        self._stopping = False
        self._lock = threading.Lock()
        self.n_active = 0                 # submitted and not yet finished
        self.engine_info: dict = engine.info()
        self._thread = threading.Thread(target=self._run, name="llmrt-engine", daemon=True)

    # ---- called from the event loop ----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)

    def submit(self, req: Request, queue: asyncio.Queue, index: int = 0) -> None:
        """Run req; its Deliveries, tagged with index, arrive on queue."""
        with self._lock:
            self.n_active += 1
        self._post(("submit", req, _Client(asyncio.get_running_loop(), queue, index)))

    def cancel(self, req: Request) -> None:
        self._post(("cancel", req, None))

    def _post(self, item) -> None:
        with self._wake:
            self._inbox.append(item)
            self._wake.notify()

    # ---- the engine thread -------------------------------------------------------------------

    def _busy(self) -> bool:
        return bool(self.engine.running or self.engine.waiting)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._inbox and not self._busy() and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    break
                inbox = list(self._inbox)
                self._inbox.clear()
            for op, req, client in inbox:
                if op == "submit":
                    self._clients[req] = client
                    self.engine.submit(req)
                elif req in self._clients:
                    self.engine.cancel(req)
            if self._busy():
                self._step()
            self._deliver()
            self.engine_info = self.engine.info()
        for req in list(self._clients):
            req.finish("cancelled")
            self.engine.cancel(req)
        self._deliver()

    def _step(self) -> None:
        before = self.engine.stats.tokens_generated
        try:
            progressed = self.engine.step()
        except BaseException as e:  # a native failure: fail what ran, keep serving the rest
            for req in list(self.engine.running):
                req.finish("error", e)
                self.engine.cancel(req)
            return
        if not progressed and not self.engine.running and self.engine.waiting:
            req = self.engine.waiting[0]
            req.finish("error", ContextError("the request cannot be scheduled: the KV cache "
                                             "cannot hold its prompt"))
        if self.on_step is not None:
            self.on_step(self.engine.stats.tokens_generated - before, time.monotonic())

    def _deliver(self) -> None:
        finished = []
        by_loop: dict = {}
        for req, client in self._clients.items():
            if not req.events and not req.done:
                continue
            item = Delivery(client.index, list(req.events), req.done, req.error)
            req.events.clear()
            by_loop.setdefault(client.loop, []).append((client.queue, item))
            if req.done:
                finished.append(req)
        # One wake-up of each event loop per step, not one per request: each costs a syscall.
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_put_all, items)
            except RuntimeError:
                pass  # the event loop has closed (shutdown): nobody is listening
        for req in finished:
            del self._clients[req]
            with self._lock:
                self.n_active -= 1
            if self.on_finished is not None:
                self.on_finished(req)
