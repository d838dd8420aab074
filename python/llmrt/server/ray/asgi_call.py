"""Run one HTTP request through an in-process ASGI app and stream its response back as plain
values, so a replica can answer a request the ingress received over the network.

httpx's ASGITransport would buffer a whole response; a streamed completion must come back
token by token, and a client that goes away must reach the app as http.disconnect so the engine
drops the request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

# Seconds the app may take to wind down (cancel its engine request) after the caller went away.
DISCONNECT_GRACE_S = 5.0


@dataclass
class HTTPRequestData:
    method: str
    path: str
    query: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    client: tuple[str, int] | None = None


@dataclass
class ResponseStart:
    status: int
    headers: list[tuple[str, str]]


def _scope(req: HTTPRequestData) -> dict:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": req.method, "scheme": "http", "path": req.path, "raw_path": req.path.encode(),
            "query_string": req.query, "root_path": "", "headers": list(req.headers),
            "client": req.client, "server": ("127.0.0.1", 80), "state": {}}


async def call_asgi(app, req: HTTPRequestData):
    """Yields a ResponseStart, then the body in the chunks the app sent."""
    out: asyncio.Queue = asyncio.Queue()
    gone = asyncio.Event()
    body_sent = False

    async def receive():
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": req.body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def run():
        try:
            await app(_scope(req), receive, out.put)
        finally:
            out.put_nowait(None)

    task = asyncio.ensure_future(run())
    try:
        while (msg := await out.get()) is not None:
            if msg["type"] == "http.response.start":
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in msg.get("headers", [])]
                yield ResponseStart(msg["status"], headers)
            elif msg["type"] == "http.response.body" and msg.get("body"):
                yield bytes(msg["body"])
        await task  # re-raises what the app raised
    finally:
        gone.set()
        if not task.done():
            try:
                await asyncio.wait_for(task, DISCONNECT_GRACE_S)
            except BaseException:
                pass
