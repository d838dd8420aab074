"""llmrt's HTTP server: OpenAI-compatible endpoints on the batching engine (`llmrt serve`).

Needs the server extra: pip install "llmrt[server]". Importing this package does not import
FastAPI; `create_app` does."""


def __getattr__(name):
    if name in ("create_app", "ServerConfig"):
        from . import app
        return getattr(app, name)
    raise AttributeError(name)


__all__ = ["ServerConfig", "create_app"]
