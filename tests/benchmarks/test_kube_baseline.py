"""The kube-scheduler stand-in scores, preempts and reprieves like upstream."""

from __future__ import annotations

import dataclasses

from benchmarks.kube_baseline import kube_schedule
from benchmarks.workloads_paper import PaperSpec, paper_workload
from scheduler_ext.domain import Cluster, DisruptionBudget, LabelSelector, Taint
from testkit import checker
from testkit.factories import GI, labels, node, pod


def where(cluster: Cluster) -> dict[str, str | None]:
    return {p.name: p.node_name for p in cluster.pods}


def test_least_allocated_node_wins_and_ties_go_by_name() -> None:
    cluster = Cluster(
        nodes=(node("n2", cpu=2000), node("n1", cpu=2000), node("n3", cpu=2000)),
        pods=(pod("busy-1", 1000, node="n1"), pod("new-1", 500), pod("new-2", 500)),
    )
    placed = where(kube_schedule(cluster).cluster)
    assert placed["new-1"] == "n2"  # n2 and n3 are equally empty; n2 sorts first
    assert placed["new-2"] == "n3"


def test_balanced_allocation_breaks_least_allocated_ties() -> None:
    cluster = Cluster(
        nodes=(node("cpu-heavy", cpu=2000, memory=4 * GI), node("mem-heavy", 2000, 4 * GI)),
        pods=(
            pod("a-1", 1000, 256 * 1024 * 1024, node="cpu-heavy"),
            pod("b-1", 250, 1 * GI + 768 * 1024 * 1024, node="mem-heavy"),
            pod("new-1", 500, 1 * GI),
        ),
    )
    # LeastAllocated ties at 46 on both nodes (cpu 25 + mem 68, cpu 62 + mem 31); balance then
    # decides: cpu/mem fractions 0.75/0.31 on cpu-heavy, 0.375/0.69 on mem-heavy. The name
    # order alone would pick cpu-heavy.
    assert where(kube_schedule(cluster).cluster)["new-1"] == "mem-heavy"


def test_filters_are_respected() -> None:
    cluster = Cluster(
        nodes=(
            node("big", cpu=8000, taints=[Taint("dedicated", "x", "NoSchedule")]),
            node("small", cpu=1000),
        ),
        pods=(pod("new-1", 500), pod("new-2", 800)),
    )
    placed = where(kube_schedule(cluster).cluster)
    assert placed == {"new-1": "small", "new-2": None}


def test_preemption_takes_the_cheapest_node_and_reprieves() -> None:
    cluster = Cluster(
        nodes=(node("n1", cpu=2000), node("n2", cpu=2000)),
        pods=(
            pod("mid-1", 1000, node="n1", priority=50),
            pod("low-1", 1000, node="n1", priority=1),
            pod("low-2", 500, node="n2", priority=1),
            pod("low-3", 500, node="n2", priority=1),
            pod("low-4", 500, node="n2", priority=1),
            pod("high-1", 1500, priority=100),
        ),
    )
    result = kube_schedule(cluster)
    placed = where(result.cluster)
    # n1 would lose mid-1 (priority 50): n2's victims are all priority 1, and one is reprieved.
    assert placed["high-1"] == "n2"
    assert [placed[f"low-{i}"] for i in (2, 3, 4)].count("n2") == 1
    assert result.preemptions == 1
    assert result.victims == 2


def test_no_preemption_among_equals_or_when_disabled() -> None:
    cluster = Cluster(
        nodes=(node("n1", cpu=1000),),
        pods=(pod("a-1", 800, node="n1", priority=5), pod("b-1", 800, priority=5)),
    )
    assert where(kube_schedule(cluster).cluster)["b-1"] is None
    raised = dataclasses.replace(
        cluster, pods=(cluster.pods[0], dataclasses.replace(cluster.pods[1], priority=6))
    )
    assert where(kube_schedule(raised).cluster)["b-1"] == "n1"
    assert where(kube_schedule(raised, preemption=False).cluster)["b-1"] is None


def test_pdb_violations_steer_preemption() -> None:
    cluster = Cluster(
        nodes=(node("n1", cpu=1000), node("n2", cpu=1000)),
        pods=(
            pod("guarded-1", 800, node="n1", priority=1, labels={"app": "guarded"}),
            pod("free-1", 800, node="n2", priority=2),
            pod("high-1", 900, priority=10),
        ),
        budgets=(
            DisruptionBudget("default", "g", LabelSelector(match_labels=labels(app="guarded")), 0),
        ),
    )
    # Without the budget n1 wins (lower victim priority); with it, n2 (no violation) wins.
    assert where(kube_schedule(cluster).cluster)["high-1"] == "n2"
    assert where(kube_schedule(dataclasses.replace(cluster, budgets=())).cluster)["high-1"] == (
        "n1"
    )


def test_victims_are_rescheduled_when_room_appears() -> None:
    cluster = Cluster(
        nodes=(node("n1", cpu=1000), node("n2", cpu=600)),
        pods=(
            pod("low-1", 500, node="n1", priority=1),
            pod("low-2", 500, node="n1", priority=1),
            pod("high-1", 900, priority=10),
        ),
    )
    placed = where(kube_schedule(cluster).cluster)
    assert placed["high-1"] == "n1"
    assert sorted(str(placed[f"low-{i}"]) for i in (1, 2)) == ["None", "n2"]


def test_end_states_fit_their_nodes() -> None:
    for seed in range(5):
        cluster = paper_workload(PaperSpec(8, 8, 4, 1.05, seed))
        end = kube_schedule(cluster).cluster
        assert len(end.pods) == len(cluster.pods)
        nodes = {n.name: n for n in end.nodes}
        for name, n in nodes.items():
            assert (
                checker.capacity_violation(n, [p for p in end.pods if p.node_name == name]) is None
            )
        assert any(p.node_name is None for p in end.pods)  # util 1.05: something is left over
