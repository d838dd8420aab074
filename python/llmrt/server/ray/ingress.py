"""Ingress: the HTTP entry of the Ray Serve application.

It reads each request's body, computes its prefix key (prefix_key.py) and relays it to an engine
replica through a handle whose PrefixHashRouter picks the replica. /health and /metrics ask every
live replica and answer for all of them. A replica that dies (or is unreachable) under a request
turns into a retryable error: 503 with Retry-After before the response started, an OpenAI error
event inside a stream that had started."""

# No `from __future__ import annotations`: Serve's ingress wrapper hands FastAPI the endpoint
# methods in a way that leaves string annotations (Request) unresolved.
import asyncio
import json
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from ray import serve
from ray.exceptions import RayActorError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError

from ..errors import error_body
from .asgi_call import HTTPRequestData
from .metrics_merge import merge
from .prefix_key import routing_key
from . import router
from .router import Route

# What a lost or overloaded replica raises at the ingress: the request may succeed if retried.
RETRYABLE = (RayActorError, BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError)
RETRY_AFTER_S = 2
# Seconds /health and /metrics wait for one replica before reporting it unreachable.
PROBE_TIMEOUT_S = 5.0
HOP_HEADERS = {"content-length", "transfer-encoding", "connection"}

api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


def unavailable(reason: str) -> JSONResponse:
    body = error_body(503, f"the model replica serving this request is unavailable ({reason}); retry shortly",
                      code="replica_unavailable")
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def sse_unavailable(reason: str) -> bytes:
    body = error_body(503, f"the model replica serving this stream was lost ({reason}); retry the request",
                      code="replica_unavailable")
    return f"data: {json.dumps(body)}\n\n".encode()


def _request_data(request: Request, body: bytes) -> HTTPRequestData:
    client = (request.client.host, request.client.port) if request.client else None
    return HTTPRequestData(request.method, request.url.path, request.url.query.encode(),
                           list(request.headers.raw), body, client)


@serve.ingress(api)
class Ingress:
    def __init__(self, engine):
        # one handle (and so one router) for every call
        self.engine = engine.options(stream=True)
        self.lost = 0          # requests answered with a retryable error because a replica failed

    # ---- relaying ----------------------------------------------------------------------------

    async def _relay(self, route: Route, req: HTTPRequestData) -> Response:
        stream = self.engine.http.remote(route, req)
        try:
            start = await stream.__anext__()
            headers = {k: v for k, v in start.headers if k.lower() not in HOP_HEADERS}
            if headers.get("content-type", "").startswith("text/event-stream"):
                return StreamingResponse(self._stream_body(stream), status_code=start.status, headers=headers)
            body = b"".join([chunk async for chunk in stream])
        except RETRYABLE as e:
            self.lost += 1
            return unavailable(type(e).__name__)
        except asyncio.CancelledError:
            stream.cancel()   # the client went away: the replica drops the request
            raise
        return Response(body, status_code=start.status, headers=headers)

    async def _stream_body(self, stream):
        done = False
        try:
            async for chunk in stream:
                yield chunk
            done = True
        except RETRYABLE as e:
            self.lost += 1
            done = True
            yield sse_unavailable(type(e).__name__)
        finally:
            if not done:
                stream.cancel()   # the client went away: the replica drops the request

    # ---- every replica -----------------------------------------------------------------------

    async def _replicas(self) -> list[str]:
        key = (self.engine.app_name, self.engine.deployment_name)
        # through the module: Serve ships this class by value, and a name imported from router
        # would be pickled as a copy of the dict
        if key not in router.LIVE_REPLICAS:
            # the handle's router starts with the first call and then publishes the live set
            try:
                await asyncio.wait_for(self._get(Route(), HTTPRequestData("GET", "/health")), PROBE_TIMEOUT_S)
            except (asyncio.TimeoutError, *RETRYABLE):
                pass
        return list(router.LIVE_REPLICAS.get(key, []))

    async def _get(self, route: Route, req: HTTPRequestData) -> tuple:
        stream = self.engine.http.remote(route, req)
        start = await stream.__anext__()
        return start.status, b"".join([c async for c in stream])

    async def _ask(self, replica: str, request: Request, path: str) -> Optional[tuple]:
        req = HTTPRequestData("GET", path, headers=list(request.headers.raw))

        try:
            return await asyncio.wait_for(self._get(Route(replica=replica), req), PROBE_TIMEOUT_S)
        except (asyncio.TimeoutError, *RETRYABLE):
            return None

    async def _ask_all(self, request: Request, path: str) -> dict:
        # One at a time: calls made while serving one HTTP request share its request id, and Serve's
        # router matches a chosen replica to a waiting call by that id, so concurrent pinned calls
        # could be handed each other's replica.
        return {r: await self._ask(r, request, path) for r in await self._replicas()}

    # ---- endpoints ---------------------------------------------------------------------------

    @api.get("/health")
    @api.get("/v1/health")
    async def health(self, request: Request):
        answers = await self._ask_all(request, "/health")
        replicas = {r: {"status": "ok" if a and a[0] == 200 else "unavailable"} for r, a in answers.items()}
        n_ok = sum(v["status"] == "ok" for v in replicas.values())
        status = "ok" if n_ok == len(replicas) and n_ok else "degraded" if n_ok else "unavailable"
        return JSONResponse({"status": status, "replicas": replicas}, status_code=200 if n_ok else 503,
                            headers={} if n_ok else {"Retry-After": str(RETRY_AFTER_S)})

    @api.get("/metrics")
    async def metrics(self, request: Request):
        answers = await self._ask_all(request, "/metrics")
        denied = [a for a in answers.values() if a and a[0] != 200]
        if denied:   # e.g. a missing API key: answer as the replica did
            return Response(denied[0][1], status_code=denied[0][0], media_type="application/json")
        texts = {r: a[1].decode() for r, a in answers.items() if a}
        own = ("# HELP llmrt_replicas_live engine replicas the router routes over\n"
               "# TYPE llmrt_replicas_live gauge\n"
               f"llmrt_replicas_live {len(answers)}\n"
               "# HELP llmrt_replicas_unreachable live replicas that did not answer this scrape\n"
               "# TYPE llmrt_replicas_unreachable gauge\n"
               f"llmrt_replicas_unreachable {len(answers) - len(texts)}\n"
               "# HELP llmrt_requests_replica_lost_total requests answered 503 because their replica failed\n"
               "# TYPE llmrt_requests_replica_lost_total counter\n"
               f"llmrt_requests_replica_lost_total {self.lost}\n")
        return PlainTextResponse(merge(texts, own), media_type="text/plain; version=0.0.4")

    @api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def forward(self, path: str, request: Request):
        body = await request.body()
        return await self._relay(Route(key=routing_key(request.url.path, body)), _request_data(request, body))
