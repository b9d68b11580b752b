"""The filter rule on hand-made rooms; and the filter's fast paths against it. When
``ClusterStore.short_resources`` finds no resource any known node lacks, the per-node rule
(``store.room`` + ``filtering.filter_by_room``) rejects nothing, and it is never empty when that
rule would reject a node; the vectorised ``filter_columns`` answers exactly as the rule. Random
stores with full nodes, unknown nodes, extended resources, deleted nodes, late nodes and assumed
pods."""

from __future__ import annotations

import random
from typing import Any

import pytest

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender import filtering
from scheduler_ext.extender.filtering import filter_by_room, misfit
from testkit.builders import api_node, api_pod
from testkit.factories import pod as make_pod

ALLOC = {"cpu": 4000, "memory": 8000, "pods": 10}


def room(cpu: int, memory: int, pods: int = 5) -> tuple[dict[str, int], dict[str, int]]:
    return ALLOC, {"cpu": cpu, "memory": memory, "pods": pods}


def test_misfit_names_every_short_resource() -> None:
    demand = {"cpu": 1000, "memory": 1000, "pods": 1}
    assert misfit(demand, {"cpu": 999, "memory": 1000, "pods": 0}) == (
        "scheduler-ext: Insufficient cpu, Too many pods"
    )
    assert misfit(demand, {"cpu": 1000, "memory": 1000, "pods": 1}) is None


def test_filter_keeps_order_and_passes_unknown_nodes() -> None:
    demand = {"cpu": 1000, "pods": 1}
    passed, failed = filter_by_room(
        demand, ["a", "b", "c"], [room(500, 0), None, room(1000, 0, pods=1)]
    )
    assert passed == ["b", "c"]
    assert failed == {"a": "scheduler-ext: Insufficient cpu"}


def _node(name: str, rng: random.Random) -> dict[str, Any]:
    allocatable = {"cpu": str(rng.choice([1, 2, 4])), "memory": f"{rng.choice([1, 2, 4])}Gi"}
    allocatable["pods"] = str(rng.choice([1, 2, 110]))
    if rng.random() < 0.3:
        allocatable["example.com/gpu"] = str(rng.choice([0, 1, 2]))
    return api_node(name, allocatable=allocatable)


def _pod(name: str, node: str | None, rng: random.Random) -> dict[str, Any]:
    requests = {"cpu": f"{rng.choice([100, 500, 1000, 1500])}m", "memory": "512Mi"}
    if rng.random() < 0.2:
        requests["example.com/gpu"] = "1"
    return api_pod(name, namespace="t", uid=f"u-{name}", node_name=node, requests=requests)


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
        passed, failed = filtering.filter_by_room(demand, asked, store.room(asked))
        known = [*names, "late"]
        everywhere = filtering.filter_by_room(demand, known, store.room(known))
        short = store.short_resources(demand)
        assert filtering.filter_columns(demand, asked, store.node_columns(demand)) == (
            passed,
            failed,
        )
        if not short:
            assert (passed, failed) == (asked, {})
        if everywhere[1]:  # some known node lacks room: the fast path must not be taken
            assert short
            lacking = {
                r.removeprefix("Insufficient ")
                for m in everywhere[1].values()
                for r in m.removeprefix(filtering.REASON_PREFIX).split(", ")
            }
            assert lacking - {"Too many pods"} <= set(short)


def test_numbers_beyond_float64_and_int64_filter_exactly() -> None:
    store = ClusterStore()
    node = _node("n", random.Random(0))
    node["status"]["allocatable"]["memory"] = "64Pi"  # 2**56 bytes: beyond float64's exact range
    node["status"]["allocatable"]["example.com/big"] = str(10**30)  # capped at 2**63 - 1
    store.replace("Node", [node])
    for demand, expected in (
        ({"memory": 1 << 30, "pods": 1}, (["n"], {})),
        ({"memory": (1 << 56) + 1, "pods": 1}, ([], {"n": "scheduler-ext: Insufficient memory"})),
        ({"example.com/big": 2**63 - 1, "pods": 1}, (["n"], {})),
    ):
        assert filtering.filter_by_room(demand, ["n"], store.room(["n"])) == expected
        assert filtering.filter_columns(demand, ["n"], store.node_columns(demand)) == expected
        assert bool(store.short_resources(demand)) == bool(expected[1])
