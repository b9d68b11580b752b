"""``explain``: the reasons a Pending pod waits and the smallest plan that places it, checked with
the independent checker on clusters whose answer is worked out by hand."""

from __future__ import annotations

import json

import pytest

from scheduler_ext.domain import Cluster, OwnerRef
from scheduler_ext.model.blockers import alone
from scheduler_ext.planning import explain
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.render import plan_to_dict
from testkit.checker import check_plan
from testkit.factories import node, pod

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
