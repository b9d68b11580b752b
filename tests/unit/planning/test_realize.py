"""Class counts back to named pods: stays first, then moves, evictions and bindings."""

from __future__ import annotations

from scheduler_ext.domain import Binding, Eviction, Move
from scheduler_ext.model.assignment import Assignment
from scheduler_ext.planning.realize import realize
from tests.unit.tiny import ClassSpec, tiny_problem


def test_surplus_running_pods_move_then_pending_pods_bind() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 9000, "pods": 10}] * 3,
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, pending=2, running={0: 2})],
    )
    # Node 0 keeps one of its two pods; node 1 gets one, node 2 gets two.
    bindings, moves, evictions, left = realize(
        problem, Assignment.from_counts([{0: 1, 1: 1, 2: 2}])
    )
    assert moves == [Move(pod="t/c0-n0-1", from_node="n0", to_node="n1")]
    assert bindings == [
        Binding(pod="t/c0-pending-0", node="n2"),
        Binding(pod="t/c0-pending-1", node="n2"),
    ]
    assert evictions == []
    assert left == []


def test_running_pods_without_a_place_are_evicted_and_pending_stay_pending() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 9000, "pods": 10}],
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, pending=1, running={0: 3})],
    )
    bindings, moves, evictions, left = realize(problem, Assignment.from_counts([{0: 1}]))
    assert (bindings, moves) == ([], [])
    assert evictions == [
        Eviction(pod="t/c0-n0-1", node="n0"),
        Eviction(pod="t/c0-n0-2", node="n0"),
    ]
    assert [p.key for p in left] == ["t/c0-pending-0"]
