"""``explain``: the reasons a Pending pod waits and the smallest plan that places it, checked with
the independent checker on clusters whose answer is worked out by hand."""

from __future__ import annotations

import json

import pytest

from scheduler_ext.domain import (
    Cluster,
    DisruptionBudget,
    LabelSelector,
    Node,
    NodeSelectorTerm,
    OwnerRef,
    PodAffinityTerm,
    Requirement,
    SpreadConstraint,
    Taint,
)
from scheduler_ext.model.blockers import alone
from scheduler_ext.planning import explain
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.render import plan_to_dict
from testkit.checker import check_plan
from testkit.factories import GI, labels, node, pod

OPTIONS = PlanOptions(time_limit_seconds=5.0)


def _fragmented(high_cpu: int) -> Cluster:
    """Two 4-core nodes, 2 cores used on each by a low ReplicaSet pod, one high pod Pending."""
    return Cluster(
        nodes=(node("a"), node("b")),
        pods=(
            pod("low-1", cpu=2000, node="a"),
            pod("low-2", cpu=2000, node="b"),
            pod("high-1", cpu=high_cpu, priority=100),
            pod("other-1", cpu=4000, priority=100),  # another Pending pod: left aside
        ),
    )


def test_a_move_places_the_pod_and_nothing_else_is_disturbed() -> None:
    cluster = _fragmented(3000)
    found = explain.explain(cluster, "default/high-1", OPTIONS, isolate=False)
    assert found.summary == "0/2 nodes are available: 2 Insufficient cpu"
    assert [(g.reasons, g.nodes) for g in found.now] == [(("Insufficient cpu",), ("a", "b"))]
    assert found.now[0].details == ("a: needs 3, 2 free", "b: needs 3, 2 free")
    plan = plan_to_dict(found.plan)
    result = check_plan(alone(cluster, cluster.pods[2]), plan)
    # By hand: one low pod moves next to the other (2 + 2 cores), the high pod takes its node.
    assert result.gained() == {100: 1, 0: 0}
    assert result.disturbed == 1
    assert found.placed_on in {"a", "b"}
    assert plan["spec"]["bindings"] == [{"pod": "default/high-1", "node": found.placed_on}]
    table = explain.to_table(found)
    assert f"bind it to {found.placed_on} after disturbing 1 pod(s)" in table
    document = json.loads(explain.to_json(found))
    assert document["placement"]["node"] == found.placed_on
    assert document["placement"]["disturbed"] == 1


def test_no_plan_places_a_pod_larger_than_any_node() -> None:
    cluster = _fragmented(5000)
    found = explain.explain(cluster, "default/high-1", OPTIONS, isolate=False)
    assert found.placed_on is None
    check_plan(alone(cluster, cluster.pods[2]), plan_to_dict(found.plan))
    assert [(g.reasons, g.nodes) for g in found.held] == [
        (
            ("Insufficient cpu", "more than the node allocates"),
            ("a", "b"),
        )
    ]
    assert found.held[0].details == ("a: needs 5, 4 free", "b: needs 5, 4 free")
    assert "No plan places it" in explain.to_table(found)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("default/nope", "pod default/nope not found (give it as NAMESPACE/NAME)"),
        ("default/low-1", "pod default/low-1 is not Pending: it is bound to node a"),
    ],
)
def test_only_a_pending_pod_is_explained(key: str, message: str) -> None:
    with pytest.raises(explain.ExplainError) as raised:
        explain.explain(_fragmented(3000), key, OPTIONS, isolate=False)
    assert str(raised.value) == message


def test_room_held_by_higher_priority_and_immovable_pods_is_told() -> None:
    cluster = Cluster(
        nodes=(node("a"),),
        pods=(
            pod("prod-1", cpu=2000, node="a", priority=1000),
            pod("agent-1", cpu=1000, node="a", owner=OwnerRef(kind="DaemonSet", name="agent")),
            pod("high-1", cpu=2000, priority=100),
        ),
    )
    found = explain.explain(cluster, "default/high-1", OPTIONS, isolate=False)
    assert found.placed_on is None
    assert [g.reasons for g in found.held] == [
        (
            "Insufficient cpu",
            "held by 1 pod(s) of equal or higher priority and lower-priority pods the eviction "
            "rules keep: 1 daemonset",
        )
    ]
    assert found.held[0].details == ("a: needs 2, 1 free",)


# -- every kind of blocker, counted as kube-scheduler's FailedScheduling line counts them ----

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
DB = LabelSelector(match_labels=labels(app="db"))
WEB = LabelSelector(match_labels=labels(app="web"))
SPREAD = (SpreadConstraint(max_skew=1, topology_key=ZONE, selector=WEB),)
UNTOLERATED = "node(s) had untolerated taint(s)"  # kube-scheduler 1.33+: the taint not named
SELECTOR = "node(s) didn't match Pod's node affinity/selector"
SKEW = "node(s) didn't match pod topology spread constraints"
BUSY = pod("busy-1", cpu=3500, node="b", owner=None)  # b: 500m free, and nothing may move
BLOCKER_CASES = {
    "unschedulable": (
        Cluster(nodes=(node("a", unschedulable=True),), pods=(pod("p-1"),)),
        {"node(s) were unschedulable": 1},
    ),
    "not ready: the lifecycle controller's taint": (
        Cluster(nodes=(node("a", ready=False),), pods=(pod("p-1"),)),
        {UNTOLERATED: 1},
    ),
    "untolerated taint": (
        Cluster(nodes=(node("a", taints=[Taint("dedicated", "gpu")]),), pods=(pod("p-1"),)),
        {UNTOLERATED: 1},
    ),
    "node selector": (
        Cluster(nodes=(node("a"), node("b")), pods=(pod("p-1", node_selector={"disk": "ssd"}),)),
        {SELECTOR: 2},
    ),
    "required node affinity": (
        Cluster(
            nodes=(node("a", labels={ZONE: "a"}),),
            pods=(
                pod(
                    "p-1",
                    required_node_affinity=(NodeSelectorTerm((Requirement(ZONE, "In", ("z9",)),)),),
                ),
            ),
        ),
        {SELECTOR: 1},
    ),
    "host port": (
        Cluster(
            nodes=(node("a"),),
            pods=(pod("old-1", node="a", host_ports=[8080]), pod("p-1", host_ports=[8080])),
        ),
        {"node(s) didn't have free ports for the requested pod ports": 1},
    ),
    "too many pods": (
        Cluster(nodes=(node("a", pods=1),), pods=(pod("old-1", node="a"), pod("p-1"))),
        {"Too many pods": 1},
    ),
    "cpu and memory: NodeResourcesFit names both": (
        Cluster(nodes=(node("a"),), pods=(pod("p-1", cpu=5000, memory=9 * GI),)),
        {"Insufficient cpu": 1, "Insufficient memory": 1},
    ),
    "extended resource": (
        Cluster(
            nodes=(node("a", extra={"nvidia.com/gpu": 1}), node("b")),
            pods=(pod("p-1", extra={"nvidia.com/gpu": 2}),),
        ),
        {"Insufficient nvidia.com/gpu": 2},
    ),
    "pod affinity with no pod to join": (
        Cluster(
            nodes=(node("a"), node("b")),
            pods=(pod("p-1", affinity=(PodAffinityTerm(DB, HOST),)),),
        ),
        {"node(s) didn't match pod affinity rules": 2},
    ),
    "its own anti-affinity": (
        Cluster(
            nodes=(node("a"), node("b")),
            pods=(
                pod("db-1", node="a", labels={"app": "db"}, owner=None),
                BUSY,
                pod("p-1", cpu=1000, anti_affinity=(PodAffinityTerm(DB, HOST),)),
            ),
        ),
        {"node(s) didn't match pod anti-affinity rules": 1, "Insufficient cpu": 1},
    ),
    "a running pod's anti-affinity": (
        Cluster(
            nodes=(node("a"), node("b")),
            pods=(
                pod("db-1", node="a", owner=None, anti_affinity=(PodAffinityTerm(WEB, HOST),)),
                BUSY,
                pod("p-1", cpu=1000, labels={"app": "web"}),
            ),
        ),
        {"node(s) didn't satisfy existing pods anti-affinity rules": 1, "Insufficient cpu": 1},
    ),
    "spread skew and a node without the zone label": (
        Cluster(
            nodes=(node("a", labels={ZONE: "za"}), node("b", labels={ZONE: "zb"}), node("c")),
            pods=(
                pod("web-1", node="a", labels={"app": "web"}, owner=None, spread=SPREAD),
                pod("web-2", node="a", labels={"app": "web"}, owner=None, spread=SPREAD),
                BUSY,
                pod("p-1", cpu=1000, labels={"app": "web"}, spread=SPREAD),
            ),
        ),
        {SKEW: 1, "Insufficient cpu": 1, f"{SKEW} (missing required label)": 1},
    ),
    "the first failing filter only: a taint hides the shortfall": (
        Cluster(
            nodes=(node("a", taints=[Taint("dedicated", "gpu")]), node("b")),
            pods=(pod("p-1", cpu=5000),),
        ),
        {UNTOLERATED: 1, "Insufficient cpu": 1},
    ),
}


@pytest.mark.parametrize(("cluster", "counts"), BLOCKER_CASES.values(), ids=BLOCKER_CASES.keys())
def test_each_kind_of_blocker_is_counted_as_kube_scheduler_counts_it(
    cluster: Cluster, counts: dict[str, int]
) -> None:
    found = explain.explain(cluster, "default/p-1", OPTIONS, isolate=False)
    document = json.loads(explain.to_json(found))
    assert document["reasonCounts"] == counts
    nodes = len(cluster.nodes)
    parts = ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))
    assert document["summary"] == f"0/{nodes} nodes are available: {parts}"
    grouped = [reason for g in document["blockedNow"] for reason in g["reasons"]]
    assert set(counts) <= set(grouped)
    assert sum(len(g["nodes"]) for g in document["blockedNow"]) == nodes
    check_plan(alone(cluster, found.pod), plan_to_dict(found.plan))


def test_a_node_failing_several_filters_lists_them_in_kube_schedulers_order() -> None:
    """Taints before node affinity before resources before the inter-pod rules; the line counts
    only the first filter's reasons."""
    cluster = Cluster(
        nodes=(node("a", labels={ZONE: "za"}),),
        pods=(
            pod("db-1", node="a", labels={"app": "db"}, owner=None),
            pod("p-1", cpu=5000, anti_affinity=(PodAffinityTerm(DB, HOST),)),
        ),
    )
    found = explain.explain(cluster, "default/p-1", OPTIONS, isolate=False)
    [group] = found.now
    assert group.reasons == ("Insufficient cpu", "node(s) didn't match pod anti-affinity rules")
    assert found.counts == (("Insufficient cpu", 1),)


@pytest.mark.parametrize(
    ("bad", "detail"),
    [
        (node("a", taints=[Taint("dedicated", "gpu")]), "a: taint dedicated=gpu:NoSchedule"),
        (node("a", ready=False), "a: taint node.kubernetes.io/not-ready=:NoSchedule"),
    ],
    ids=["taint", "not ready"],
)
def test_the_taint_is_named_per_node(bad: Node, detail: str) -> None:
    cluster = Cluster(nodes=(bad,), pods=(pod("p-1"),))
    found = explain.explain(cluster, "default/p-1", OPTIONS, isolate=False)
    assert [(g.reasons, g.details) for g in found.now] == [((UNTOLERATED,), (detail,))]
    assert detail.split(": ", 1)[1] in explain.to_table(found)


def test_a_budget_that_allows_no_disruption_is_named_where_it_holds_the_room() -> None:
    budget = DisruptionBudget(
        namespace="default", name="batch", selector=LabelSelector(labels(app="batch")),
        disruptions_allowed=0,
    )  # fmt: skip
    cluster = Cluster(
        nodes=(node("a"),),
        pods=(
            pod("batch-1", cpu=3000, node="a", labels={"app": "batch"}),
            pod("api-1", cpu=2000, priority=500),
        ),
        budgets=(budget,),
    )
    found = explain.explain(cluster, "default/api-1", OPTIONS, isolate=False)
    assert found.placed_on is None  # the only pod that could make room may not be disrupted
    check_plan(alone(cluster, cluster.pods[1]), plan_to_dict(found.plan))
    assert [(g.reasons, g.nodes) for g in found.held] == [
        (
            (
                "room once its 1 lower-priority movable pod(s) leave; budget default/batch "
                "allows no disruption",
            ),
            ("a",),
        )
    ]
