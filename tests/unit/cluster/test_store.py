"""The store's accounting follows every event, assumed pods count until confirmed or expired,
and the generation moves only on changes the planner reads. ``pending_by_priority`` and
``unschedulable`` are kept incrementally (the planning loop asks after every change); they must
always equal a full scan of the stored pods, through random pod events, assumed binds, their
confirmation, replacement and expiry."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from scheduler_ext.cluster.kinds import KINDS, Kind
from scheduler_ext.cluster.objects import PodEntry, is_unschedulable
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.domain import Pod, ResourceList
from testkit.builders import api_node, api_pod
from testkit.factories import pod as make_pod


def node(name: str, cpu: str = "2", heartbeat: str = "t0") -> dict[str, Any]:
    return api_node(
        name, allocatable={"cpu": cpu, "memory": "4Gi", "pods": "3"}, heartbeat=heartbeat
    )


def pod(
    name: str, node_name: str | None = None, cpu: str = "500m", **status: Any
) -> dict[str, Any]:
    return api_pod(
        name,
        namespace="ns",
        uid=f"uid-{name}",
        node_name=node_name,
        requests={"cpu": cpu},
        status=status,
    )


UNSCHEDULABLE: dict[str, Any] = {
    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
}


def synced(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> ClusterStore:
    store = ClusterStore()
    for kind in KINDS:
        store.replace(kind, {"Node": nodes, "Pod": pods}.get(kind, []))
    return store


def free(store: ClusterStore, name: str) -> dict[str, int]:
    [room] = store.room([name])
    assert room is not None
    return dict(room[1])


def test_synced_only_once_every_kind_is_listed() -> None:
    store = ClusterStore()
    for kind in KINDS[:-1]:
        store.replace(kind, [])
        assert not store.synced
    store.replace(KINDS[-1], [])
    assert store.synced


def test_free_room_follows_pod_events() -> None:
    store = synced([node("n1")], [pod("a", "n1")])
    assert free(store, "n1")["cpu"] == 1500
    assert free(store, "n1")["pods"] == 2
    store.apply("Pod", "ADDED", pod("b", "n1", cpu="1"))
    assert free(store, "n1")["cpu"] == 500
    store.apply("Pod", "MODIFIED", pod("b", "n1", cpu="1", phase="Succeeded"))  # finished
    assert free(store, "n1")["cpu"] == 1500
    store.apply("Pod", "DELETED", pod("a", "n1"))
    assert free(store, "n1") == {"cpu": 2000, "memory": 4 * 2**30, "pods": 3}


def test_pods_seen_before_their_node_count_once_it_appears() -> None:
    store = synced([], [pod("a", "n2")])
    assert store.room(["n2"]) == [None]
    store.apply("Node", "ADDED", node("n2"))
    assert free(store, "n2")["cpu"] == 1500
    store.apply("Node", "MODIFIED", node("n2", cpu="4"))
    assert free(store, "n2")["cpu"] == 3500


def test_relist_drops_objects_that_are_gone() -> None:
    store = synced([node("n1")], [pod("a", "n1"), pod("b", "n1")])
    store.replace("Pod", [pod("a", "n1")])
    assert free(store, "n1")["cpu"] == 1500
    assert store.pod("ns/b") is None


def test_generation_ignores_heartbeats_but_not_capacity() -> None:
    store = synced([node("n1")], [])
    before = store.generation
    store.apply("Node", "MODIFIED", node("n1", heartbeat="t1"))
    assert store.generation == before
    store.apply("Node", "MODIFIED", node("n1", cpu="3"))
    assert store.generation > before


def test_assumed_pods_count_until_the_watch_confirms_them() -> None:
    store = synced([node("n1")], [pod("p", None)])
    store.assume(Pod(namespace="ns", name="p", uid="uid-p"), "n1")
    assert free(store, "n1")["cpu"] == 1500  # the store's own requests for the pod
    assert store.assumed() == {"ns/p": "n1"}
    store.apply("Pod", "MODIFIED", pod("p", "n1"))
    assert store.assumed() == {}
    assert free(store, "n1")["cpu"] == 1500  # counted once


def test_assumed_pods_expire() -> None:
    now = [0.0]
    store = ClusterStore(assume_ttl=30, clock=lambda: now[0])
    for kind in KINDS:
        store.replace(kind, [node("n1")] if kind == "Node" else [])
    unknown = Pod(namespace="ns", name="q", uid="u", requests=ResourceList.of({"cpu": 700}))
    store.assume(unknown, "n1")
    assert free(store, "n1")["cpu"] == 1300
    now[0] = 31.0
    assert free(store, "n1")["cpu"] == 2000
    assert store.assumed() == {}


def test_unschedulable_pods_are_the_planning_trigger() -> None:
    store = synced([node("n1")], [pod("a", None, **UNSCHEDULABLE), pod("b", None)])
    assert store.unschedulable() == ["ns/a"]
    assert store.pending_by_priority() == {0: 2}
    store.apply("Pod", "MODIFIED", pod("a", "n1"))
    assert store.unschedulable() == []
    assert is_unschedulable(pod("x", None, **UNSCHEDULABLE))


def test_snapshot_shows_assumed_pods_bound_and_is_cached() -> None:
    store = synced([node("n1")], [pod("a", None)])
    store.assume(Pod(namespace="ns", name="a", uid="uid-a"), "n1")
    cluster = store.snapshot()
    assert [(p.key, p.node_name) for p in cluster.pods] == [("ns/a", "n1")]
    assert store.snapshot() is cluster
    store.apply("Pod", "ADDED", pod("b", None))
    assert store.snapshot() is not cluster


def test_malformed_objects_are_left_out() -> None:
    store = synced([node("n1")], [pod("bad", "n1", cpu="lots"), pod("ok", "n1")])
    assert free(store, "n1")["cpu"] == 1500
    assert [p.name for p in store.snapshot().pods] == ["ok"]


def test_wait_for_change_wakes_on_a_change() -> None:
    store = synced([node("n1")], [])
    start = store.generation
    assert store.wait_for_change(start, 0.01) == start
    store.apply("Pod", "ADDED", pod("a", None))
    assert store.wait_for_change(start, 0.01) != start


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _raw(name: str, rng: random.Random) -> dict[str, Any]:
    node = rng.choice([None, None, "n0", "n1"])
    metadata = {"deletionTimestamp": "2026-01-01T00:00:00Z"} if rng.random() < 0.1 else None
    return api_pod(
        name,
        namespace="t",
        uid=f"u-{name}",
        node_name=node,
        requests={"cpu": "100m"},
        priority=rng.choice([0, 100, 1000]),
        unschedulable=node is None and rng.random() < 0.5,
        metadata=metadata,
    )


def _scan(store: ClusterStore) -> tuple[dict[int, int], list[str]]:
    """What the store answered before it kept counts: a scan of every pod."""
    objects = store._objects
    entries = {key: objects.value(Kind.POD, key) for key in objects.keys(Kind.POD)}
    pending = {
        key: entry
        for key, entry in entries.items()
        if isinstance(entry, PodEntry)
        and entry.pod.node_name is None
        and not entry.pod.terminating
        and key not in store._assumed
    }
    counts = dict(Counter(entry.pod.priority for entry in pending.values()))
    return counts, sorted(key for key, entry in pending.items() if entry.unschedulable)


@pytest.mark.parametrize("seed", range(30))
def test_kept_counts_equal_a_full_scan(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    store = ClusterStore(assume_ttl=5, clock=clock)
    nodes = [
        {"metadata": {"name": n}, "status": {"allocatable": {"cpu": "4", "pods": "110"}}}
        for n in ("n0", "n1")
    ]
    store.replace("Node", nodes)
    names = [f"p{i}" for i in range(8)]
    store.replace("Pod", [_raw(n, rng) for n in names[:4]])
    for _ in range(200):
        action = rng.random()
        name = rng.choice(names)
        if action < 0.5:
            store.apply("Pod", rng.choice(["ADDED", "MODIFIED"]), _raw(name, rng))
        elif action < 0.65:
            store.apply("Pod", "DELETED", {"metadata": {"name": name, "namespace": "t"}})
        elif action < 0.85:
            pod = store.pod(f"t/{name}") or make_pod(name, cpu=100, namespace="t")
            store.assume(pod, rng.choice(["n0", "n1"]))
        elif action < 0.95:
            clock.now += rng.choice([1, 3, 6])
            store.assumed()  # expires what is due
        else:
            store.replace("Pod", [_raw(n, rng) for n in rng.sample(names, 4)])
        assert (store.pending_by_priority(), store.unschedulable()) == _scan(store)


def test_the_state_goes_stale_when_a_watch_is_not_heard_from() -> None:
    clock = Clock()
    store = ClusterStore(staleness=10.0, clock=clock)
    for kind in KINDS:
        store.replace(kind, [])
    assert store.stale_kinds() == list(KINDS)  # listed, but no informer reported contact
    for kind in KINDS:
        store.note_contact(kind)
    assert store.fresh
    clock.now = 8.0
    store.note_contact("Pod")
    clock.now = 12.0
    assert store.stale_kinds() == [k for k in KINDS if k != "Pod"]
    assert not store.fresh
    for kind in KINDS:
        store.note_contact(kind)
    assert store.fresh
    assert ClusterStore().fresh  # freshness not tracked: always fresh
