"""The filter's fast path: when ``ClusterStore.short_resources`` finds no resource any known node
lacks, the per-node filter (``store.room`` + ``scoring.filter_nodes``) rejects nothing; and it is
never empty when that filter would reject a node. Random stores with full nodes, unknown nodes,
extended resources, deleted nodes, late nodes and assumed pods."""

from __future__ import annotations

import random
from typing import Any

import pytest

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.planning import scoring
from testkit.factories import pod as make_pod


def _node(name: str, rng: random.Random) -> dict[str, Any]:
    allocatable = {"cpu": str(rng.choice([1, 2, 4])), "memory": f"{rng.choice([1, 2, 4])}Gi"}
    allocatable["pods"] = str(rng.choice([1, 2, 110]))
    if rng.random() < 0.3:
        allocatable["example.com/gpu"] = str(rng.choice([0, 1, 2]))
    return {
        "metadata": {"name": name},
        "status": {"allocatable": allocatable, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def _pod(name: str, node: str | None, rng: random.Random) -> dict[str, Any]:
    requests = {"cpu": f"{rng.choice([100, 500, 1000, 1500])}m", "memory": "512Mi"}
    if rng.random() < 0.2:
        requests["example.com/gpu"] = "1"
    return {
        "metadata": {"name": name, "namespace": "t", "uid": f"u-{name}"},
        "spec": {
            **({"nodeName": node} if node else {}),
            "containers": [{"name": "c", "resources": {"requests": requests}}],
        },
        "status": {"phase": "Running" if node else "Pending"},
    }


@pytest.mark.parametrize("seed", range(40))
def test_fast_filter_matches_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    store = ClusterStore()
    names = [f"n{i}" for i in range(rng.randint(0, 8))]
    store.replace("Node", [_node(n, rng) for n in names])
    pods = [_pod(f"p{i}", rng.choice([*names, "gone", None]), rng) for i in range(12)]
    store.replace("Pod", pods)
    if names and rng.random() < 0.5:  # a node deleted after its pods were counted
        store.apply("Node", "DELETED", {"metadata": {"name": names[0]}})
    if names and rng.random() < 0.5:  # a bind the watch has not confirmed yet
        store.assume(make_pod("assumed", cpu=700, namespace="t"), rng.choice(names))
    if rng.random() < 0.3:  # a node added late: resources of earlier columns filled in
        store.apply("Node", "ADDED", _node("late", rng))
    asked = [*names, "late", "unknown-node", *rng.sample(names, min(2, len(names)))]
    rng.shuffle(asked)
    for cpu in (0, 100, 900, 2500):
        demand = {"cpu": cpu, "memory": rng.choice([0, 1 << 30, 3 << 30]), "pods": 1}
        if rng.random() < 0.3:
            demand["example.com/gpu"] = 1
        if rng.random() < 0.2:
            demand["example.com/fpga"] = 1  # no node has it
        passed, failed = scoring.filter_nodes(demand, asked, store.room(asked))
        everywhere = scoring.filter_nodes(demand, [*names, "late"], store.room([*names, "late"]))
        short = store.short_resources(demand)
        if not short:
            assert (passed, failed) == (asked, {})
        if everywhere[1]:  # some known node lacks room: the fast path must not be taken
            assert short
            lacking = {
                r.removeprefix("Insufficient ")
                for m in everywhere[1].values()
                for r in m.removeprefix(scoring.REASON_PREFIX).split(", ")
            }
            assert lacking - {"Too many pods"} <= set(short)


def test_a_number_too_large_for_the_arrays_sends_the_filter_to_the_exact_loop() -> None:
    store = ClusterStore()
    node = _node("n", random.Random(0))
    node["status"]["allocatable"]["memory"] = "64Pi"  # 2**56 bytes: stored as 0 in the arrays
    store.replace("Node", [node])
    demand = {"memory": 1 << 30, "pods": 1}
    assert "memory" in store.short_resources(demand)  # may be short: the loop decides
    assert scoring.filter_nodes(demand, ["n"], store.room(["n"])) == (["n"], {})
