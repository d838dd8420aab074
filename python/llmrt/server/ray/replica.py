"""LLMReplica: one engine and the same ASGI app `llmrt serve` runs, as a Ray Serve deployment.

The ingress hands each HTTP request over whole (HTTPRequestData) and gets the app's response
back as a stream, so every endpoint, error and metric behaves as on a single server."""

from __future__ import annotations

from ray import serve

from .asgi_call import HTTPRequestData, ResponseStart, call_asgi

# Response header naming the replica that answered: clients and tests see where a request went.
REPLICA_HEADER = "x-llmrt-replica"


class LLMReplica:
    def __init__(self, model: str, file: str | None = None, ctx_size: int = 4096, parallel: int = 8,
                 threads: int = 1, batch_size: int = 512, alias: str | None = None,
                 api_key: str | None = None, max_queue: int = 256, cache_type_k: str = "f16",
                 cache_type_v: str = "f16"):
        from ... import models
        from ..app import create_app
        from ..cli import load_llm

        path = models.resolve(model, filename=file, progress=False)
        self.app = create_app(load_llm(path, ctx_size, threads, batch_size, parallel, cache_type_k=cache_type_k,
                                       cache_type_v=cache_type_v),
                              model_name=alias, api_key=api_key, max_queue=max_queue)
        # No ASGI lifespan here (requests arrive through call_asgi): start the engine thread now.
        self.runner = self.app.state.server.runner
        self.runner.start()
        self.replica_id = serve.get_replica_context().replica_id.unique_id

    async def http(self, route, req: HTTPRequestData):
        """route is read by the router only (router.Route)."""
        async for item in call_asgi(self.app, req):
            if isinstance(item, ResponseStart):
                item.headers.append((REPLICA_HEADER, self.replica_id))
            yield item

    def check_health(self) -> None:
        # Serve calls this periodically; raising makes it replace the replica.
        if not self.runner._thread.is_alive():
            raise RuntimeError("the engine thread has stopped")

    def __del__(self):
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.stop()
