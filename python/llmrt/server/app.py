"""The ASGI app: OpenAI-compatible endpoints over one LLM's engine.

    app = llmrt.server.create_app(llmrt.LLM("smollm2-135m"), api_key="secret")
    uvicorn.run(app, port=8080)

One engine per model, driven by one background thread (runner.py); each HTTP request becomes one
Request per choice in that engine and reads its output from an asyncio queue.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import time
from dataclasses import dataclass

from fastapi import FastAPI, Request as HTTPRequest
from fastapi.responses import JSONResponse, PlainTextResponse

from ..llm import LLM
from .chat_endpoint import chat_completions
from .completions_endpoint import completions
from .errors import APIError, error_response, install_handlers
from .metrics import ServerMetrics
from .responses import Pieces
from .runner import EngineRunner
from .schemas import ChatRequest, CompletionRequest, DetokenizeRequest, TokenizeRequest
from .webui import add_webui

# Paths anyone may read without the API key: liveness probes and the chat page.
OPEN_PATHS = {"/health", "/v1/health", "/"}

# Seconds a client told 503 should wait before retrying.
RETRY_AFTER_S = 1


@dataclass
class ServerConfig:
    model_name: str
    api_key: str | None = None
    max_queue: int = 256          # requests beyond the engine's running slots before 503


class Server:
    """What the handlers share: the model, its engine runner, counters, settings."""

    def __init__(self, llm: LLM, config: ServerConfig):
        self.llm = llm
        self.config = config
        self.model_name = config.model_name
        self.metrics = ServerMetrics()
        self.pieces = Pieces(llm.tokenizer)
        self.runner = EngineRunner(llm.engine, on_finished=self.metrics.on_finished,
                                   on_step=self.metrics.on_step)
        self.started = int(time.time())

    @property
    def capacity(self) -> int:
        return self.llm.engine.n_parallel + self.config.max_queue

    def admit(self, n: int) -> None:
        """503 when n more requests would overflow the queue."""
        if self.runner.n_active + n > self.capacity:
            self.metrics.rejected_busy += 1
            raise APIError(503, f"the server is busy: {self.runner.n_active} requests running or queued "
                                f"(at most {self.capacity}); retry shortly",
                           headers={"Retry-After": str(RETRY_AFTER_S)})

    def model_card(self) -> dict:
        llm = self.llm
        return {"id": self.model_name, "object": "model", "created": self.started, "owned_by": "llmrt",
                "meta": {"architecture": llm.architecture, "n_ctx": llm.n_ctx, "n_ctx_train": llm.n_ctx_train,
                         "n_vocab": llm.n_vocab, "path": str(llm.model_path)}}


def force_json_content_type(scope) -> None:
    """Every POST body here is JSON, whatever the client labelled it (`curl -d` sends a form
    content type), as llama-server reads it."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    scope["headers"] = headers + [(b"content-type", b"application/json")]


def create_app(llm: LLM, model_name: str | None = None, api_key: str | None = None,
               max_queue: int = 256) -> FastAPI:
    """An ASGI app serving llm. The engine thread starts and stops with the app's lifespan."""
    name = model_name or os.path.splitext(os.path.basename(str(llm.model_path)))[0]
    server = Server(llm, ServerConfig(name, api_key or None, int(max_queue)))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        server.runner.start()
        try:
            yield
        finally:
            server.runner.stop()

    app = FastAPI(title="llmrt", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    install_handlers(app)

    @app.middleware("http")
    async def auth_and_count(request: HTTPRequest, call_next):
        path = request.url.path
        if server.config.api_key and path not in OPEN_PATHS and not path.startswith("/static"):
            given = request.headers.get("authorization", "")
            token = given[7:] if given.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
            if not hmac.compare_digest(token.encode(), server.config.api_key.encode()):
                server.metrics.count_request(path, 401)
                return error_response(APIError(401, "invalid or missing API key", code="invalid_api_key"))
        if request.method == "POST":
            force_json_content_type(request.scope)
        response = await call_next(request)
        server.metrics.count_request(path, response.status_code)
        return response

    @app.get("/health")
    @app.get("/v1/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    @app.get("/models")
    async def list_models():
        return {"object": "list", "data": [server.model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str):
        if model_id != server.model_name:
            raise APIError(404, f"no model {model_id!r}; this server runs {server.model_name!r}",
                           param="model", code="model_not_found")
        return server.model_card()

    @app.post("/v1/chat/completions")
    @app.post("/chat/completions")
    async def chat(body: ChatRequest, request: HTTPRequest):
        return await chat_completions(server, body, request)

    @app.post("/v1/completions")
    @app.post("/completions")
    async def complete(body: CompletionRequest, request: HTTPRequest):
        return await completions(server, body, request)

    @app.post("/tokenize")
    async def tokenize(body: TokenizeRequest):
        ids = llm.tokenize(body.content, add_special=body.add_special, parse_special=body.parse_special)
        if body.with_pieces:
            return {"tokens": [{"id": t, "piece": server.pieces.text(t)} for t in ids]}
        return {"tokens": ids}

    @app.post("/detokenize")
    async def detokenize(body: DetokenizeRequest):
        bad = [t for t in body.tokens if not 0 <= t < llm.n_vocab]
        if bad:
            raise APIError(400, f"token id {bad[0]} is outside the vocabulary", param="tokens")
        return {"content": llm.detokenize(body.tokens)}

    @app.get("/metrics")
    async def metrics():
        text = server.metrics.render(server.runner.engine_info, server.runner.n_active, time.monotonic())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.get("/props")
    async def props():
        """llama-server's settings endpoint, for clients that read it."""
        return JSONResponse({"model_path": str(llm.model_path), "n_ctx": llm.n_ctx,
                             "total_slots": llm.engine.n_parallel,
                             "chat_template": llm.chat_template or ""})

    add_webui(app)
    return app
