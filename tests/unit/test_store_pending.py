"""``ClusterStore.pending_by_priority`` and ``unschedulable`` are kept incrementally (the planning
loop asks after every change); they must always equal a full scan of the stored pods, through
random pod events, assumed binds, their confirmation, replacement and expiry."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from scheduler_ext.cluster.store import ClusterStore
from testkit.factories import pod as make_pod


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _raw(name: str, rng: random.Random) -> dict[str, Any]:
    node = rng.choice([None, None, "n0", "n1"])
    status: dict[str, Any] = {"phase": "Pending" if node is None else "Running"}
    if node is None and rng.random() < 0.5:
        status["conditions"] = [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
        ]
    metadata: dict[str, Any] = {"name": name, "namespace": "t", "uid": f"u-{name}"}
    if rng.random() < 0.1:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": metadata,
        "spec": {
            **({"nodeName": node} if node else {}),
            "priority": rng.choice([0, 100, 1000]),
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}],
        },
        "status": status,
    }


def _scan(store: ClusterStore) -> tuple[dict[int, int], list[str]]:
    """What the store answered before it kept counts: a scan of every pod."""
    pending = {
        key: entry
        for key, entry in store._pods.items()
        if entry.pod.node_name is None and not entry.pod.terminating and key not in store._assumed
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
