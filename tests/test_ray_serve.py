"""llmrt on Ray Serve: a local Ray instance with two replicas of the real SmolLM2 model (one
thread each), driven by the official openai client through the ingress: concurrent streams,
prefix-affine routing of a conversation, per-replica health and metrics, and a replica killed
under running requests."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
ray = pytest.importorskip("ray")
serve = pytest.importorskip("ray.serve")

import llmrt  # noqa: E402
from server_process import free_port, parse_metrics  # noqa: E402

from llmrt.server.ray.deployment import RayServeOptions, application  # noqa: E402
from llmrt.server.ray.prefix_key import routing_key  # noqa: E402
from llmrt.server.ray.replica import REPLICA_HEADER  # noqa: E402
from llmrt.server.ray.ring import HashRing  # noqa: E402

# Where this process imported llmrt from (the working tree's python/ or site-packages): Ray's
# workers import the same one.
LLMRT_DIR = str(Path(llmrt.__file__).resolve().parent.parent)
MODEL = "smollm2"
API_KEY = "ray-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SYSTEM = "You are a terse assistant. Answer in one short sentence."
# Seconds a replica Serve restarts may take to come back (model load on a busy 2-core machine).
RESTART_TIMEOUT_S = 180


class Cluster:
    def __init__(self, base: str):
        self.base = base

    def health(self) -> dict:
        return httpx.get(self.base + "/health", timeout=60).json()

    def metrics(self) -> dict:
        return parse_metrics(httpx.get(self.base + "/metrics", headers=AUTH, timeout=60).text)

    def replicas(self) -> list[str]:
        return sorted(self.health()["replicas"])

    def prefix_hits(self, replica: str) -> float:
        return self.metrics()[f'llmrt_prefix_cache_hits_total{{replica="{replica}"}}']

    def openai(self):
        return openai.OpenAI(base_url=self.base + "/v1", api_key=API_KEY, max_retries=0, timeout=300)

    def wait_replicas_ok(self, n: int, timeout: float = RESTART_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            h = self.health()
            ok = [r for r, v in h["replicas"].items() if v["status"] == "ok"]
            if len(ok) == n and h["status"] == "ok" or time.monotonic() > deadline:
                return h
            time.sleep(1)


@pytest.fixture(scope="module")
def cluster(smollm2_path):
    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                 [LLMRT_DIR, os.environ.get("PYTHONPATH", "")])}})
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        opts = RayServeOptions(model=str(smollm2_path), replicas=2, threads=1, ctx_size=4096, parallel=8,
                               alias=MODEL, api_key=API_KEY)
        serve.run(application(opts), name="llmrt", route_prefix="/")
        c = Cluster(f"http://127.0.0.1:{port}")
        assert c.wait_replicas_ok(2, timeout=60)["status"] == "ok"
        yield c
    finally:
        serve.shutdown()
        ray.shutdown()


def chat_owner(replicas: list[str], messages: list[dict]) -> str:
    """The replica the router's ring gives this conversation while no replica is overloaded."""
    import json

    body = json.dumps({"model": MODEL, "messages": messages}).encode()
    return HashRing(replicas).owner(routing_key("/v1/chat/completions", body))


def test_health_and_metrics_per_replica(cluster):
    h = cluster.health()
    assert h["status"] == "ok" and len(h["replicas"]) == 2
    assert all(v == {"status": "ok"} for v in h["replicas"].values())
    m = cluster.metrics()
    assert m["llmrt_replicas_live"] == 2 and m["llmrt_replicas_unreachable"] == 0
    for r in h["replicas"]:
        assert f'llmrt_kv_cells_total{{replica="{r}"}}' in m
        # each replica answered its own health probe: the scrape asked each one, not any one
        assert m[f'llmrt_requests_total{{replica="{r}",endpoint="/health",status="200"}}'] >= 1
    assert [x.id for x in cluster.openai().models.list().data] == [MODEL]
    # the replicas check the key, for the relayed endpoints and the merged metrics alike
    for path in ("/metrics", "/v1/models"):
        r = httpx.get(cluster.base + path, timeout=60)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_32_concurrent_streams_complete(cluster):
    client = cluster.openai()

    def one(i):
        raw = client.completions.with_raw_response.create(
            model=MODEL, prompt=f"Story {i}: once upon a time, a fox named {i}", max_tokens=12,
            temperature=0, stream=True, extra_body={"ignore_eos": True})
        text, finish = "", None
        for chunk in raw.parse():
            text += chunk.choices[0].text
            finish = chunk.choices[0].finish_reason or finish
        return raw.headers[REPLICA_HEADER], text, finish

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))
    assert all(finish == "length" and text for _, text, finish in results)
    # distinct prompts hash over both replicas
    assert {replica for replica, _, _ in results} == set(cluster.replicas())


def test_conversation_turns_land_on_the_replica_holding_the_prefix(cluster):
    client = cluster.openai()
    replicas = cluster.replicas()
    for topic in ("owls", "rivers", "bread"):
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Tell me about {topic}."}]
        owner = chat_owner(replicas, messages)
        hits_before = cluster.prefix_hits(owner)
        for turn in range(3):
            raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages, max_tokens=8,
                                                                   temperature=0)
            r = raw.parse()
            assert raw.headers[REPLICA_HEADER] == owner, (topic, turn)
            if turn:
                assert r.usage.prompt_tokens_details.cached_tokens > 0
            messages += [{"role": "assistant", "content": r.choices[0].message.content},
                         {"role": "user", "content": "And then?"}]
        # turns 2 and 3 found their conversation's cells on the owner
        assert cluster.prefix_hits(owner) - hits_before >= 2


def test_a_killed_replica_fails_only_its_requests_retryably_and_comes_back(cluster):
    client = cluster.openai()
    replicas = cluster.replicas()
    victim, survivor = replicas
    # conversations that the ring sends to each replica: three streams apiece, plus one plain
    # request on the victim
    convs = {victim: [], survivor: []}
    i = 0
    while min(len(v) for v in convs.values()) < 4:
        messages = [{"role": "user", "content": f"Write a long poem about the number {i}."}]
        owner = chat_owner(replicas, messages)
        if len(convs[owner]) < 4:
            convs[owner].append(messages)
        i += 1
    started = threading.Barrier(7, timeout=120)
    outcomes: dict = {}

    def stream(key, messages):
        try:
            s = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=400, temperature=0,
                                               stream=True, extra_body={"ignore_eos": True})
            finish = None
            for n, chunk in enumerate(s):
                if n == 1:
                    started.wait()
                finish = chunk.choices[0].finish_reason or finish
            outcomes[key] = ("finished", finish)
        except openai.APIError as e:
            outcomes[key] = ("error", e.body)

    def plain(key, messages):
        try:
            r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=400, temperature=0,
                                               extra_body={"ignore_eos": True})
            outcomes[key] = ("finished", r.choices[0].finish_reason)
        except openai.APIStatusError as e:
            outcomes[key] = ("status", e.status_code, e.response.headers.get("retry-after"), e.body)

    threads = [threading.Thread(target=stream, args=((rep, k), convs[rep][k]))
               for rep in (victim, survivor) for k in range(3)]
    threads.append(threading.Thread(target=plain, args=((victim, "plain"), convs[victim][3])))
    for t in threads:
        t.start()
    started.wait()                       # every stream is generating
    time.sleep(0.5)                      # and the plain request is queued or running
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
             if "LLMReplica" in a["name"] and a["name"].endswith(victim)]
    assert len(names) == 1, names
    ray.kill(ray.get_actor(names[0], namespace="serve"))
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads)

    for k in range(3):
        assert outcomes[(survivor, k)] == ("finished", "length")
        kind, body = outcomes[(victim, k)]
        assert kind == "error" and body["code"] == "replica_unavailable" and body["type"] == "unavailable_error"
    status, code, retry_after, body = outcomes[(victim, "plain")]
    assert (status, code, body["code"]) == ("status", 503, "replica_unavailable")
    assert int(retry_after) > 0
    assert cluster.metrics()["llmrt_requests_replica_lost_total"] >= 4

    h = cluster.wait_replicas_ok(2)
    assert h["status"] == "ok" and victim not in h["replicas"], h
    r = client.chat.completions.create(model=MODEL, messages=convs[victim][0], max_tokens=8, temperature=0)
    assert r.choices[0].finish_reason == "length" and r.choices[0].message.content
