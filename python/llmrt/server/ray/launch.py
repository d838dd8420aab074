"""`llmrt serve --ray`: start (or join) a Ray cluster and run the application until interrupted."""

from __future__ import annotations

import os
import signal
import sys
import time

from .deployment import RayServeOptions, application


def options_from_args(args) -> RayServeOptions:
    from ... import models

    return RayServeOptions(
        model=args.model or models.DEFAULT_MODEL, file=args.file, ctx_size=args.ctx_size,
        parallel=args.parallel, threads=args.threads or 1, batch_size=args.batch_size, alias=args.alias,
        api_key=args.api_key or os.environ.get("LLMRT_API_KEY"), max_queue=args.max_queue,
        replicas=args.replicas, autoscale=args.autoscale, cache_type_k=args.cache_type_k,
        cache_type_v=args.cache_type_v)


def serve_on_ray(args) -> int:
    try:
        import ray
        from ray import serve
    except ImportError as e:
        raise SystemExit(f"llmrt serve --ray needs the ray extra: pip install \"llmrt[ray]\" ({e})")
    try:
        opts = options_from_args(args)
        app = application(opts)
    except ValueError as e:
        raise SystemExit(f"llmrt serve: {e}")
    # The model's path must resolve on every node: fetch it here once so a local cluster's
    # replicas find it in the cache.
    from ... import models
    models.resolve(opts.model, filename=opts.file)
    ray.init(address=args.address, include_dashboard=False, logging_level="warning")
    signal.signal(signal.SIGTERM, _interrupt)   # SIGTERM stops it as Ctrl-C does, at any stage
    try:
        serve.start(http_options={"host": args.host, "port": args.port})
        serve.run(app, name="llmrt", route_prefix="/")
        n = f"{opts.autoscale} (autoscaling)" if opts.autoscale else str(opts.replicas)
        print(f"llmrt: serving {opts.model} on Ray with {n} replicas x {opts.threads} threads on "
              f"http://{args.host}:{args.port}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        serve.shutdown()
        ray.shutdown()
    return 0


def _interrupt(*_):
    raise KeyboardInterrupt
