"""PrefixHashRouter: Ray Serve's request router for the engine replicas.

Ray Serve asks the router of every handle to the engine deployment (the ingress holds one) to
rank replicas for each request; Serve then sends the request to the least-loaded replica of the
first rank that has room. Here a request whose Route carries a prefix key ranks its replica on a
consistent-hash ring first, so every turn of a conversation meets the KV cells its earlier turns
left behind, and all other live replicas second. When the key's replica is full
(max_ongoing_requests) or runs `imbalance` more requests than the least-loaded one, the request
goes to the least-loaded one: a cold cache costs one prefill, a long queue costs every token.

Configure it on the deployment:
    RequestRouterConfig(request_router_class="llmrt.server.ray.router.PrefixHashRouter",
                        request_router_kwargs={"imbalance": 8})
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass

from ray.serve.request_router import RequestRouter

from .ring import VIRTUAL_NODES, HashRing

# Requests the key's replica may run beyond the least-loaded one before its keys go elsewhere.
DEFAULT_IMBALANCE = 8

# The replicas each router routes over, by (application, deployment): the ingress holding the
# router reads it to ask every live replica for its health and metrics.
LIVE_REPLICAS: dict[tuple[str, str], list[str]] = {}


@dataclass(frozen=True)
class Route:
    """The first argument of every call to the engine deployment: how to route it."""
    key: str | None = None        # prefix key (prefix_key.routing_key); None: least loaded
    replica: str | None = None    # a replica's unique id: that replica or none (health, metrics)


class PrefixHashRouter(RequestRouter):
    def initialize_state(self, imbalance: int = DEFAULT_IMBALANCE, virtual_nodes: int = VIRTUAL_NODES):
        self._imbalance = int(imbalance)
        self._ring = HashRing(virtual_nodes=int(virtual_nodes))

    def _publish(self) -> None:
        ids = sorted(r.unique_id for r in self._replica_id_set)
        self._ring.update(ids)
        # Serve ships this class by value, so its globals are a copy: write into the imported module,
        # the one the ingress reads.
        live = importlib.import_module(__name__).LIVE_REPLICAS
        live[(self._deployment_id.app_name, self._deployment_id.name)] = ids

    def update_replicas(self, replicas) -> None:
        super().update_replicas(replicas)
        self._publish()

    def on_replica_actor_died(self, replica_id) -> None:
        super().on_replica_actor_died(replica_id)
        self._publish()

    def _queue_len(self, replica) -> int | None:
        return self._replica_queue_len_cache.get(replica.replica_id)

    def _overloaded(self, primary, others) -> bool:
        mine = self._queue_len(primary)
        theirs = [q for q in (self._queue_len(r) for r in others) if q is not None]
        return mine is not None and bool(theirs) and mine - min(theirs) >= self._imbalance

    async def choose_replicas(self, candidate_replicas, pending_request=None):
        first = pending_request.args[0] if pending_request and pending_request.args else None
        # by its fields, not isinstance: Serve ships this class by value, with its own copy of Route
        route = Route(getattr(first, "key", None), getattr(first, "replica", None))
        by_id = {r.replica_id.unique_id: r for r in candidate_replicas}
        if route.replica is not None:
            return [[by_id[route.replica]]] if route.replica in by_id else []
        if route.key is None or len(by_id) < 2:
            # power of two choices: Serve sends it to the shorter queue of two
            return [random.sample(candidate_replicas, min(2, len(candidate_replicas)))]
        order = [by_id[u] for u in self._ring.order(route.key) if u in by_id]
        order += [r for u, r in by_id.items() if r not in order]  # not on the ring yet
        primary, others = order[0], order[1:]
        if self._overloaded(primary, others):
            return [others]
        return [[primary], others]
