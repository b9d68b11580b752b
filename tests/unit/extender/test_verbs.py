"""The verbs called directly, with no HTTP around them: each answer is the rule's (filtering,
scoring) on the store's accounting, a bind is assumed on its node at once, and an unsynced state
is never answered from."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender import filtering, scoring, verbs
from scheduler_ext.metrics import Metrics
from testkit.builders import api_node, api_pod


def node(name: str, cpu: str) -> dict[str, Any]:
    return api_node(name, allocatable={"cpu": cpu, "memory": "4Gi", "pods": "10"}, ready=None)


def pod(name: str, cpu: str, node_name: str | None = None) -> dict[str, Any]:
    return api_pod(
        name,
        namespace="ns",
        uid=f"uid-{name}",
        node_name=node_name,
        requests={"cpu": cpu},
        metadata={"resourceVersion": "1"},
    )


class Binder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        self.calls.append((namespace, name, uid, node))


class Deps:
    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self.metrics = Metrics(CollectorRegistry())
        self.client: Binder | None = Binder()
        self.scheduler_names = ("default-scheduler",)
        self.bind_wait_seconds = 0.0
        self.prioritize_rule: scoring.Rule = scoring.BEST_FIT
        self.deferred: set[str] = set()

    def defers_preemption(self, key: str, uid: str) -> bool:
        return key in self.deferred


def synced_store() -> ClusterStore:
    store = ClusterStore()
    for kind in KINDS:
        store.replace(kind, [])
    store.replace("Node", [node("a", "2"), node("b", "1"), node("c", "4")])
    store.replace("Pod", [pod("busy", "1500m", "a")])
    return store


def call(verb: verbs.Verb, deps: Deps, body: object) -> tuple[int, Any]:
    async def answer() -> verbs.Reply:
        return await verb(deps, orjson.dumps(body))

    reply = asyncio.run(answer())
    return reply.status, orjson.loads(reply.body)


def test_filter_and_prioritize_answer_the_rules_on_the_store() -> None:
    deps = Deps(synced_store())
    names = ["a", "b", "c", "unknown"]
    body = {"Pod": pod("p", "1"), "NodeNames": names}
    status, answer = call(verbs.answer_filter, deps, body)
    demand = {"cpu": 1000, "pods": 1}
    passed, failed = filtering.filter_by_room(demand, names, deps.store.room(names))
    assert status == 200
    assert (answer["NodeNames"], answer["FailedNodes"]) == (passed, failed)
    assert failed == {"a": "scheduler-ext: Insufficient cpu"}
    status, answer = call(verbs.answer_prioritize, deps, body)
    scores = scoring.prioritize_nodes(demand, names, deps.store.room(names))
    assert answer == [{"Host": n, "Score": s} for n, s in zip(names, scores, strict=True) if s]


def test_a_bind_counts_the_pod_on_its_node_before_the_watch_shows_it() -> None:
    deps = Deps(synced_store())
    deps.store.apply("Pod", "ADDED", pod("p", "1"))  # Pending in the watched state
    status, answer = call(
        verbs.answer_bind,
        deps,
        {"PodName": "p", "PodNamespace": "ns", "PodUID": "uid-p", "Node": "b"},
    )
    assert (status, answer) == (200, {"Error": ""})
    assert deps.client is not None
    assert deps.client.calls == [("ns", "p", "uid-p", "b")]
    assert deps.store.assumed() == {"ns/p": "b"}
    _, answer = call(verbs.answer_filter, deps, {"Pod": pod("q", "1"), "NodeNames": ["b"]})
    assert answer["FailedNodes"] == {"b": "scheduler-ext: Insufficient cpu"}


def test_a_forged_body_does_not_change_the_genuine_pods_answer() -> None:
    deps = Deps(synced_store())
    genuine = pod("p", "500m")
    deps.store.apply("Pod", "ADDED", genuine)
    forged = pod("p", "1000")  # same namespace, name and UID, absurd requests
    _, answer = call(verbs.answer_filter, deps, {"Pod": forged, "NodeNames": ["a", "b"]})
    assert answer["FailedNodes"] == {}  # the watched pod's 500m fits both
    _, answer = call(verbs.answer_filter, deps, {"Pod": genuine, "NodeNames": ["a", "b"]})
    assert answer["FailedNodes"] == {}
    stranger = pod("s", "1000")  # unknown to the state: its own body counts, for it alone
    _, answer = call(verbs.answer_filter, deps, {"Pod": stranger, "NodeNames": ["a"]})
    assert answer["FailedNodes"] == {"a": "scheduler-ext: Insufficient cpu"}
    _, answer = call(verbs.answer_filter, deps, {"Pod": genuine, "NodeNames": ["a", "b"]})
    assert answer["FailedNodes"] == {}


def test_an_unsynced_state_is_never_answered_from() -> None:
    deps = Deps(ClusterStore())
    body = {"Pod": pod("p", "1"), "NodeNames": ["a"]}
    assert call(verbs.answer_filter, deps, body)[1]["Error"] == verbs.NOT_SYNCED
    assert call(verbs.answer_prioritize, deps, body)[0] == 503
