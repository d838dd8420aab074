"""The pure parts of llmrt on Ray Serve: the hash ring, the prefix key and the metrics merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmrt.server.ray.metrics_merge import merge
from llmrt.server.ray.prefix_key import PREFIX_CHARS, routing_key
from llmrt.server.ray.ring import HashRing


def chat(messages, model="m"):
    return routing_key("/v1/chat/completions", json.dumps({"model": model, "messages": messages}).encode())


def test_ring_moves_only_the_keys_of_a_changed_replica():
    keys = [f"conversation {i}" for i in range(2000)]
    two, three = HashRing(["a", "b"]), HashRing(["a", "b", "c"])
    before = {k: two.owner(k) for k in keys}
    after = {k: three.owner(k) for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert all(after[k] == "c" for k in moved)
    assert 0.2 < len(moved) / len(keys) < 0.5          # about a third goes to the new replica
    assert 0.35 < sum(v == "a" for v in before.values()) / len(keys) < 0.65
    assert three.order("x")[0] == three.owner("x") and sorted(three.order("x")) == ["a", "b", "c"]
    assert HashRing([]).owner("x") is None


def test_every_turn_of_a_conversation_has_its_opening_as_key():
    opening = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    later = opening + [{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "More"}]
    assert chat(opening) == chat(later) is not None
    assert chat(opening) != chat([opening[0], {"role": "user", "content": "Bye"}])
    assert chat(opening) != chat(opening, model="other")
    parts = [opening[0], {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert chat(parts) == chat(opening)
    long = [{"role": "user", "content": "x" * 5000}]
    assert len(chat(long)) <= PREFIX_CHARS + len("m\n")


def test_prompt_keys_and_requests_without_a_prompt():
    def complete(prompt):
        return routing_key("/v1/completions", json.dumps({"model": "m", "prompt": prompt}).encode())

    base = "a" * PREFIX_CHARS
    assert complete(base + "one") == complete(base + "two") != complete("b" + base)
    assert complete([base + "x", "other"]) == complete(base)
    assert complete([1, 2, 3]) == complete([1, 2, 3]) != complete([1, 2, 4])
    assert routing_key("/v1/models", b"") is None
    assert routing_key("/v1/completions", b"not json") is None
    assert routing_key("/tokenize", b'{"content": "x"}') is None


def test_metrics_merge_labels_each_sample_and_keeps_one_header_per_family():
    text = ("# HELP llmrt_x x\n# TYPE llmrt_x counter\nllmrt_x 3\n"
            "# HELP llmrt_y y\n# TYPE llmrt_y counter\nllmrt_y{reason=\"stop\"} 1\n")
    out = merge({"r2": text, "r1": text.replace(" 3", " 5")}, extra="llmrt_live 2\n").splitlines()
    assert out.count("# HELP llmrt_x x") == 1 and out.count("# TYPE llmrt_y counter") == 1
    assert out.index('llmrt_x{replica="r1"} 5') < out.index('llmrt_x{replica="r2"} 3') < out.index("# HELP llmrt_y y")
    assert 'llmrt_y{replica="r1",reason="stop"} 1' in out
    assert out[-1] == "llmrt_live 2"


def test_scaling_options_and_the_serve_run_config():
    pytest.importorskip("ray.serve")
    yaml = pytest.importorskip("yaml")
    from ray.serve.schema import ServeDeploySchema

    from llmrt.server.ray.deployment import RayServeOptions, application, build, scaling

    assert scaling(RayServeOptions(replicas=3)) == {"num_replicas": 3}
    auto = scaling(RayServeOptions(autoscale="1,4", replicas=2, parallel=8))["autoscaling_config"]
    assert auto == {"min_replicas": 1, "max_replicas": 4, "initial_replicas": 2, "target_ongoing_requests": 8}
    for bad in ("4,1", "1", "a,b", "0,0"):
        with pytest.raises(ValueError):
            scaling(RayServeOptions(autoscale=bad))
    # Serve accepts the deployments' options as built
    assert application(RayServeOptions(autoscale="1,4")) is not None
    with pytest.raises(ValueError, match="unknown llmrt options"):
        build({"modle": "x"})

    config = Path(__file__).resolve().parent.parent / "python" / "llmrt" / "server" / "ray_config.yaml"
    schema = ServeDeploySchema.model_validate(yaml.safe_load(config.read_text()))
    (app,) = schema.applications
    assert app.import_path == "llmrt.server.ray.deployment:build"
    build({k: str(v) for k, v in app.args.items()})     # `serve run` hands the builder these


class FakeReplica:
    """What Serve's router reads of a replica."""

    def __init__(self, uid, deployment):
        from ray.serve._private.common import ReplicaID

        self.replica_id = ReplicaID(unique_id=uid, deployment_id=deployment)
        self.max_ongoing_requests = 100

    async def get_queue_len(self, deadline_s):
        return 0


def test_router_ranks_the_keys_replica_first_and_the_least_loaded_when_it_is_overloaded():
    pytest.importorskip("ray.serve")
    import asyncio
    from types import SimpleNamespace

    from ray.serve._private.common import DeploymentHandleSource, DeploymentID

    from llmrt.server.ray import router as router_module
    from llmrt.server.ray.router import PrefixHashRouter, Route

    def ids(ranks):
        return [[r.replica_id.unique_id for r in rank] for rank in ranks]

    async def scenario():
        dep = DeploymentID(name="LLMReplica", app_name="routing-test")
        router = PrefixHashRouter(dep, DeploymentHandleSource.UNKNOWN, use_replica_queue_len_cache=True)
        router.initialize_state(imbalance=3)
        reps = [FakeReplica(u, dep) for u in ("r1", "r2", "r3")]
        router.update_replicas(reps)
        assert router_module.LIVE_REPLICAS[("routing-test", "LLMReplica")] == ["r1", "r2", "r3"]

        def call(route):
            return router.choose_replicas(reps, SimpleNamespace(args=[route, None]))

        owner = HashRing(["r1", "r2", "r3"]).owner("conversation")
        others = sorted({"r1", "r2", "r3"} - {owner})
        ranks = ids(await call(Route(key="conversation")))
        assert ranks[0] == [owner] and sorted(ranks[1]) == others
        # two more requests than the least loaded: still the key's replica
        for r in reps:
            router.on_new_queue_len_info(r.replica_id, 3 if r.replica_id.unique_id == owner else 1)
        assert ids(await call(Route(key="conversation")))[0] == [owner]
        # three more: the others, of which Serve takes the least loaded
        router.on_new_queue_len_info(next(r for r in reps if r.replica_id.unique_id == owner).replica_id, 4)
        assert [sorted(rank) for rank in ids(await call(Route(key="conversation")))] == [others]
        # pinned calls (health, metrics) go to that replica or nowhere
        assert ids(await call(Route(replica="r2"))) == [["r2"]]
        assert await call(Route(replica="gone")) == []
        # no key: two replicas for Serve's power of two choices
        (pair,) = ids(await call(Route()))
        assert len(set(pair)) == 2
        router.on_replica_actor_died(reps[0].replica_id)
        assert router_module.LIVE_REPLICAS[("routing-test", "LLMReplica")] == ["r2", "r3"]

    asyncio.run(scenario())
