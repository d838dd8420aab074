"""`llmrt serve MODEL`: the HTTP server on one model, as llama-server's flags name things."""

from __future__ import annotations

import os
import sys

DEFAULT_PORT = 8080
# Seconds SIGTERM waits for running requests before closing their connections.
DEFAULT_SHUTDOWN_TIMEOUT_S = 30.0


def add_parser(sub) -> None:
    from ..cli import MODEL_HELP, add_cache_type_args

    p = sub.add_parser("serve", help="OpenAI-compatible HTTP server (needs llmrt[server])")
    p.add_argument("model", nargs="?", default=None, help=MODEL_HELP + " (default: smollm2-135m)")
    p.add_argument("--file", default=None, help="which GGUF of an hf: repository")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' (default: $LLMRT_API_KEY)")
    p.add_argument("-c", "--ctx-size", type=int, default=8192,
                   help="KV cells shared by all requests; also the longest a sequence may get")
    p.add_argument("-np", "--parallel", type=int, default=16, help="requests decoded together")
    p.add_argument("-t", "--threads", type=int, default=None, help="threads (default: physical cores)")
    p.add_argument("-b", "--batch-size", type=int, default=512, help="tokens per decode step (chunked prefill)")
    p.add_argument("--alias", default=None, help="the model's name in the API (default: the file's name)")
    p.add_argument("--max-queue", type=int, default=256,
                   help="requests waiting for a slot before new ones get 503")
    p.add_argument("--draft", choices=["lookup"], default=None,
                   help="speculative decoding: lookup = prompt lookup (drafts copied from the context)")
    p.add_argument("--n-draft", type=int, default=8, help="most draft tokens checked per step")
    p.add_argument("--shutdown-timeout", type=float, default=DEFAULT_SHUTDOWN_TIMEOUT_S,
                   help="seconds SIGTERM lets running requests finish")
    add_cache_type_args(p)
    r = p.add_argument_group("Ray Serve (needs llmrt[ray]): replicas of the server, routed by prompt prefix")
    r.add_argument("--ray", action="store_true", help="serve on a Ray cluster (local unless --address)")
    r.add_argument("--replicas", type=int, default=1, help="engine replicas (each -t threads, default 1)")
    r.add_argument("--autoscale", default=None, metavar="MIN,MAX", help="scale replicas between MIN and MAX")
    r.add_argument("--address", default=None, help="an existing Ray cluster (e.g. auto or ray://host:10001)")
    p.set_defaults(func=cmd_serve)


def load_llm(path, ctx_size: int, threads: int | None, batch_size: int, parallel: int, draft=None,
             n_draft: int = 8, cache_type_k: str | None = None, cache_type_v: str | None = None):
    """The model as the server runs it (one engine per process or Ray replica)."""
    from ..llm import LLM

    if parallel < 1 or parallel > 64:
        raise SystemExit("llmrt serve: --parallel must be in 1..64")
    # Sequence ids: the running requests plus as many cached prefixes again (at most 64).
    return LLM(path, n_ctx=ctx_size, n_threads=threads, n_batch=batch_size,
               n_parallel=parallel, n_seq_max=min(64, 2 * parallel), context_shift=False, draft=draft,
               n_draft=n_draft, kv_type_k=cache_type_k, kv_type_v=cache_type_v)


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from .app import create_app
    except ImportError as e:
        raise SystemExit(f"llmrt serve needs the server extra: pip install \"llmrt[server]\" ({e})")
    from .. import models

    if args.ray:
        from .ray.launch import serve_on_ray
        return serve_on_ray(args)
    path = models.resolve(args.model or models.DEFAULT_MODEL, filename=args.file)
    llm = load_llm(path, args.ctx_size, args.threads, args.batch_size, args.parallel, args.draft, args.n_draft,
                   args.cache_type_k, args.cache_type_v)
    app = create_app(llm, model_name=args.alias, api_key=args.api_key or os.environ.get("LLMRT_API_KEY"),
                     max_queue=args.max_queue)
    print(f"llmrt: serving {path.name} as {app.state.server.model_name!r} on http://{args.host}:{args.port} "
          f"({llm.n_threads} threads, {args.parallel} parallel, {llm.n_cells} KV cells of "
          f"{llm.kv_type_k}/{llm.kv_type_v})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                timeout_graceful_shutdown=args.shutdown_timeout)
    return 0

