"""The brute-force optimum on clusters small enough to solve by hand."""

from __future__ import annotations

import dataclasses

import pytest

from scheduler_ext.domain import Cluster, DisruptionBudget, LabelSelector, Taint, Toleration
from testkit.bruteforce import TooLarge, brute_force
from testkit.factories import labels, node, pod


def two_node_cluster() -> Cluster:
    """700m pending fits only once 400m moves next to 600m (n3 is tainted)."""
    return Cluster(
        nodes=(
            node("n1", cpu=1000),
            node("n2", cpu=1000),
            node("n3", cpu=1000, taints=[Taint("dedicated", "batch", "NoSchedule")]),
        ),
        pods=(
            pod("a-1", 600, node="n1", priority=1, labels={"app": "a"}),
            pod("b-1", 400, node="n2", priority=1, labels={"app": "b"}),
            pod("high-1", 700, priority=10),
        ),
    )


def test_one_move_makes_room() -> None:
    best = brute_force(two_node_cluster())
    assert best.objective == (1, 2, -1, 0)
    assert best.placement["default/high-1"] in {"n1", "n2"}


def test_tolerated_taint_needs_no_move() -> None:
    cluster = two_node_cluster()
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
    cluster = dataclasses.replace(two_node_cluster(), budgets=(pdb,))
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
