"""The problem build: what a class may use, whatever order the pods come in."""

from __future__ import annotations

import pytest

from scheduler_ext.domain import (
    Cluster,
    LabelSelector,
    NodeSelectorTerm,
    Pod,
    PodAntiAffinityTerm,
    Requirement,
    label_items,
)
from scheduler_ext.model.build import ANTI_AFFINITY_REASON
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.planning import render
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from testkit import checker
from testkit.factories import node, pod

ZONE = "topology.kubernetes.io/zone"
NODES = tuple(node(f"{zone}{i}", labels={ZONE: zone}) for zone in "ab" for i in range(4))
GUARD = pod(
    "guard-1",
    node="a0",
    owner=None,
    anti_affinity=(
        PodAntiAffinityTerm(
            selector=LabelSelector(match_labels=label_items({"app": "web"})),
            topology_key=ZONE,
            namespaces=(),
        ),
    ),
)
"""Runs in zone a and keeps every ``app: web`` pod out of that zone."""


def pinned(name: str, *nodes: str) -> Pod:
    """A pending web pod that may only go to ``nodes`` (required node affinity, matchFields)."""
    terms = tuple(
        NodeSelectorTerm(match_fields=(Requirement("metadata.name", "In", (n,)),)) for n in nodes
    )
    return pod(name, labels={"app": "web"}, required_node_affinity=terms)


def eligible_names(problem: Problem) -> dict[str, list[str]]:
    return {
        p.name: [problem.nodes[n].name for n in cls.eligible]
        for cls, members in zip(problem.classes, problem.members, strict=True)
        for p in members.pending
    }


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_existing_anti_affinity_closes_the_zone_whatever_the_pod_order(reverse: bool) -> None:
    # Each pod's matchFields build a fresh node set; the first one's set, filtered by the guard,
    # is dropped, and Python may hand its memory to the second's: a cache keyed by id() then
    # answered the second pod with the first pod's blocked nodes and opened zone a to it.
    pending = [pinned("web-0", "a0", "b0", "b1"), pinned("web-1", "a1", "a2", "a3")]
    if reverse:
        pending.reverse()
    problem = build_problem(Cluster(nodes=NODES, pods=(GUARD, *pending)))
    assert eligible_names(problem) == {"web-0": ["b0", "b1"], "web-1": []}
    reasons = dict(problem.pending_reasons)
    assert f"3 {ANTI_AFFINITY_REASON}" in reasons["default/web-1"]


@pytest.mark.parametrize(("cpu", "lands"), [(500, True), (600, False)])
def test_a_pod_lands_on_an_overcommitted_node_only_within_its_allocatable(
    cpu: int, lands: bool
) -> None:
    # n0 allocates 3 CPUs but its pods request 4.5 (a resize, or allocatable shrunk). Evicting
    # the movable 2-CPU pod leaves 2.5: NodeResourcesFit then admits 0.5 more, not 0.6. The
    # capacity that lets the current pods stay must not let a newcomer into the evicted room.
    nodes = (node("n0", cpu=3000), node("n1", cpu=1000))
    pods = (
        pod("fixed-0", 2500, node="n0", owner=None),
        pod("low-0", 2000, node="n0"),
        pod("pinned-0", cpu, priority=10, node_selector={"kubernetes.io/hostname": "n0"}),
    )
    cluster = Cluster(nodes=nodes, pods=pods)
    for solver in ("greedy", "cpsat"):
        options = PlanOptions(time_limit_seconds=5, solver=solver)
        wire = render.plan_to_dict(make_plan(cluster, options, isolate=False))
        checker.check_plan(cluster, wire)
        bound = {b["pod"]: b["node"] for b in wire["spec"]["bindings"]}
        assert bound == ({"default/pinned-0": "n0"} if lands else {})


def test_pending_pods_are_planned_for_the_schedulers_served_only() -> None:
    from dataclasses import replace

    from scheduler_ext.domain import Cluster
    from scheduler_ext.model.movability import EvictionPolicy

    custom = replace(pod("p", cpu=100), scheduler_name="custom")
    cluster = Cluster(nodes=(node("n1", cpu=1000),), pods=(custom,))
    default = build_problem(cluster)
    assert [(p.key, why) for p, why in default.unplanned] == [
        ("default/p", "scheduled by custom, not by default-scheduler")
    ]
    served = build_problem(cluster, policy=EvictionPolicy(scheduler_names=frozenset({"custom"})))
    assert served.unplanned == ()
