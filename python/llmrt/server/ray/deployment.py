"""The Ray Serve application: an Ingress in front of LLMReplica engines routed by PrefixHashRouter.

    serve run llmrt.server.ray.deployment:build model=smollm2-135m replicas=2
or a config file (ray_config.yaml beside this file) naming `llmrt.server.ray.deployment:build`."""

from __future__ import annotations

from dataclasses import dataclass

from ray import serve
from ray.serve.config import RequestRouterConfig

from .ingress import Ingress
from .replica import LLMReplica
from .router import DEFAULT_IMBALANCE, PrefixHashRouter


@dataclass
class RayServeOptions:
    model: str = "smollm2-135m"
    file: str | None = None
    ctx_size: int = 4096
    parallel: int = 8
    threads: int = 1                 # per replica; each replica reserves as many Ray CPUs
    batch_size: int = 512
    alias: str | None = None
    api_key: str | None = None
    max_queue: int = 256
    replicas: int = 1
    autoscale: str | None = None     # "MIN,MAX": Serve adds replicas while each runs > parallel requests
    imbalance: int = DEFAULT_IMBALANCE
    cache_type_k: str = "f16"        # KV cache element types (llmrt.kv_types)
    cache_type_v: str = "f16"


def parse_autoscale(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--autoscale takes MIN,MAX (two integers), got {text!r}") from None
    if not 0 <= lo <= hi or hi < 1:
        raise ValueError(f"--autoscale needs 0 <= MIN <= MAX and MAX >= 1, got {text!r}")
    return lo, hi


def scaling(opts: RayServeOptions) -> dict:
    if not opts.autoscale:
        if opts.replicas < 1:
            raise ValueError("--replicas must be at least 1")
        return {"num_replicas": opts.replicas}
    lo, hi = parse_autoscale(opts.autoscale)
    return {"autoscaling_config": {"min_replicas": lo, "max_replicas": hi,
                                   "initial_replicas": max(lo, min(opts.replicas, hi)),
                                   "target_ongoing_requests": opts.parallel}}


def application(opts: RayServeOptions):
    engine = serve.deployment(LLMReplica).options(
        name="LLMReplica",
        # Serve never queues a request the app itself would take: the app answers 503 past its queue.
        max_ongoing_requests=opts.parallel + opts.max_queue,
        ray_actor_options={"num_cpus": opts.threads},
        health_check_period_s=2, health_check_timeout_s=30,
        request_router_config=RequestRouterConfig(
            request_router_class=PrefixHashRouter,
            request_router_kwargs={"imbalance": opts.imbalance}),
        **scaling(opts),
    ).bind(opts.model, file=opts.file, ctx_size=opts.ctx_size, parallel=opts.parallel,
           threads=opts.threads, batch_size=opts.batch_size, alias=opts.alias, api_key=opts.api_key,
           max_queue=opts.max_queue, cache_type_k=opts.cache_type_k, cache_type_v=opts.cache_type_v)
    # The ingress only relays bytes: no CPU reserved, and as many requests as all replicas take.
    return serve.deployment(Ingress).options(
        name="Ingress", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=10_000,
    ).bind(engine)


def build(args: dict):
    """The `serve run` application builder: args are RayServeOptions' fields."""
    fields = RayServeOptions.__dataclass_fields__
    unknown = set(args) - set(fields)
    if unknown:
        raise ValueError(f"unknown llmrt options {sorted(unknown)}; known: {sorted(fields)}")
    # config files and `serve run k=v` pass strings
    typed = {k: int(v) if fields[k].type == "int" else v for k, v in args.items()}
    return application(RayServeOptions(**typed))
