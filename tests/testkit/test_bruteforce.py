"""The brute-force optimum on clusters small enough to solve by hand."""

from __future__ import annotations

import dataclasses

import pytest

from scheduler_ext.domain import (
    Cluster,
    DisruptionBudget,
    LabelSelector,
    Node,
    PodAffinityTerm,
    SpreadConstraint,
    Toleration,
)
from testkit.bruteforce import TooLarge, brute_force
from testkit.factories import labels, node, one_move_cluster, pod


def test_one_move_makes_room() -> None:
    best = brute_force(one_move_cluster())
    assert best.objective == (1, 2, -1, 0)
    assert best.placement["default/high-1"] in {"n1", "n2"}


def test_tolerated_taint_needs_no_move() -> None:
    cluster = one_move_cluster()
    tolerant = dataclasses.replace(
        cluster.pods[2], tolerations=(Toleration("dedicated", "Exists"),)
    )
    best = brute_force(dataclasses.replace(cluster, pods=(*cluster.pods[:2], tolerant)))
    assert best.objective == (1, 2, 0, 0)
    assert best.placement["default/high-1"] == "n3"


def test_eviction_when_nothing_else_helps() -> None:
    cluster = Cluster(
        nodes=(node("n1", cpu=1000),),
        pods=(pod("low-1", 600, node="n1", priority=1), pod("high-1", 700, priority=10)),
    )
    assert brute_force(cluster).objective == (1, 0, -1, -1)
    assert brute_force(cluster, max_disruptions=0).objective == (0, 1, 0, 0)


def test_budget_blocks_the_only_useful_move() -> None:
    pdb = DisruptionBudget("default", "b", LabelSelector(match_labels=labels(app="b")), 0)
    pdb_a = DisruptionBudget("default", "a", LabelSelector(match_labels=labels(app="a")), 0)
    cluster = dataclasses.replace(one_move_cluster(), budgets=(pdb,))
    best = brute_force(cluster)
    assert best.objective == (1, 2, -1, 0)  # a moves instead
    assert best.placement["default/a-1"] == "n2"
    assert brute_force(dataclasses.replace(cluster, budgets=(pdb, pdb_a))).objective == (
        0,
        2,
        0,
        0,
    )


def test_lower_priority_pods_are_repacked_when_possible() -> None:
    # Two 500m pending low pods and one 600m high pod; one 1000m node and one 600m node.
    cluster = Cluster(
        nodes=(node("big", cpu=1000), node("small", cpu=600)),
        pods=(
            pod("low-1", 500, node="small", priority=1),
            pod("low-2", 500, priority=1),
            pod("high-1", 600, priority=5),
        ),
    )
    # high on small means low-1 moves to big, then low-2 joins it.
    assert brute_force(cluster).objective == (1, 2, -1, 0)


def test_too_large_is_refused() -> None:
    cluster = Cluster(nodes=(node("n1"),), pods=tuple(pod(f"p-{i}", node="n1") for i in range(8)))
    with pytest.raises(TooLarge):
        brute_force(cluster)


# --- the inter-pod rules and the preemption policy bound the optimum too --------------------------


def zones() -> tuple[Node, ...]:
    return (
        node("a1", cpu=1000, labels={"zone": "a"}),
        node("a2", cpu=1000, labels={"zone": "a"}),
        node("b1", cpu=1000, labels={"zone": "b"}),
    )


def web_selector() -> LabelSelector:
    return LabelSelector(match_labels=labels(app="web"))


def test_self_anti_affinity_places_one_replica_per_zone() -> None:
    term = PodAffinityTerm(web_selector(), "zone")
    replicas = tuple(
        pod(f"web-{i}", 100, priority=1, labels={"app": "web"}, anti_affinity=(term,))
        for i in range(3)
    )
    best = brute_force(Cluster(nodes=zones(), pods=replicas))
    assert best.objective == (2, 0, 0)
    assert {best.placement[f"default/web-{i}"] for i in range(3)} - {None} in (
        {"a1", "b1"},
        {"a2", "b1"},
    )


def test_spread_keeps_the_zones_within_max_skew() -> None:
    constraint = SpreadConstraint(max_skew=1, topology_key="zone", selector=web_selector())
    running = pod("web-9", 100, node="a1", priority=1, labels={"app": "web"}, owner=None)
    # b1 holds only 300m more: one replica fits there, so a may take just one more.
    filler = pod("fill-1", 700, node="b1", priority=1, owner=None)
    replicas = tuple(
        pod(f"web-{i}", 300, priority=1, labels={"app": "web"}, spread=(constraint,))
        for i in range(3)
    )
    best = brute_force(Cluster(nodes=zones(), pods=(running, filler, *replicas)))
    assert best.objective == (4, 0, 0)  # two of the three: one in b, then one more in a


def test_affinity_follows_the_first_pod_of_its_group() -> None:
    term = PodAffinityTerm(web_selector(), "zone")
    group = tuple(
        pod(f"web-{i}", 600, priority=1, labels={"app": "web"}, affinity=(term,)) for i in range(3)
    )
    best = brute_force(Cluster(nodes=zones(), pods=group))
    # Zone a has room for two 600m pods (one per node), zone b for one: the group takes zone a.
    assert best.objective == (2, 0, 0)
    assert {best.placement[f"default/web-{i}"] for i in range(3)} - {None} == {"a1", "a2"}


def test_a_pod_that_never_preempts_is_not_placed_by_an_eviction() -> None:
    low = pod("low-1", 600, node="n1", priority=1)
    cluster = Cluster(nodes=(node("n1", cpu=1000),), pods=(low, pod("high-1", 700, priority=10)))
    assert brute_force(cluster).objective == (1, 0, -1, -1)
    never = dataclasses.replace(cluster.pods[1], preempts=False)
    assert brute_force(dataclasses.replace(cluster, pods=(low, never))).objective == (0, 1, 0, 0)
