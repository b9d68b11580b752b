"""Needless moves undone: a pod sent away from a node it could stay on goes back, alone or with
the pods in its way moved on (``churn.fewer_disturbed``), and a needed move is kept."""

from __future__ import annotations

import pytest

from scheduler_ext.model.assignment import Assignment, evaluate, violations
from scheduler_ext.solvers.cpsat.churn import fewer_disturbed, return_moved
from tests.unit.tiny import ClassSpec, tiny_problem

NODES = [{"cpu": 4000, "pods": 10}] * 3


def test_a_needless_move_goes_back_and_the_placement_stays() -> None:
    problem = tiny_problem(
        nodes=NODES,
        classes=[
            ClassSpec(priority=2, demand={"cpu": 1000}, running={0: 2}),
            ClassSpec(priority=1, demand={"cpu": 3000}, pending=1),
        ],
    )
    # Both running pods moved to node 1 and the pending one bound on node 2: node 0 has room.
    moved = Assignment.from_counts([{1: 2}, {2: 1}])
    back = return_moved(problem, moved)
    assert back.counts() == [{0: 2}, {2: 1}]
    assert evaluate(problem, back).placed == evaluate(problem, moved).placed
    assert evaluate(problem, back).disturbed == 0 < evaluate(problem, moved).disturbed
    assert violations(problem, back) == []


def test_a_move_that_makes_room_is_kept() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}] * 2,
        classes=[
            ClassSpec(priority=1, demand={"cpu": 2000}, running={0: 2}),
            ClassSpec(priority=2, demand={"cpu": 4000}, pending=1),
        ],
    )
    # The high pod needs all of node 0: both running pods had to go.
    needed = Assignment.from_counts([{1: 2}, {0: 1}])
    assert return_moved(problem, needed) == needed


def test_pods_that_swapped_full_nodes_both_go_back() -> None:
    # Each node is full, so neither pod can go back alone: only the two steps at once.
    problem = tiny_problem(
        nodes=[{"cpu": 2000, "pods": 10}] * 2,
        classes=[
            ClassSpec(priority=1, demand={"cpu": 2000}, running={0: 1}),
            ClassSpec(priority=1, demand={"cpu": 2000}, running={1: 1}),
        ],
    )
    swapped = Assignment.from_counts([{1: 1}, {0: 1}])
    assert return_moved(problem, swapped) == swapped
    back = fewer_disturbed(problem, swapped)
    assert back.counts() == [{0: 1}, {1: 1}]
    assert evaluate(problem, back).disturbed == 0 < evaluate(problem, swapped).disturbed
    assert violations(problem, back) == []


def test_a_pod_in_the_way_moves_on_to_a_node_with_room() -> None:
    # The pending pod landed where a running pod was sent away from; it may land elsewhere.
    problem = tiny_problem(
        nodes=[{"cpu": 2000, "pods": 10}, {"cpu": 2000, "pods": 10}, {"cpu": 1000, "pods": 10}],
        classes=[
            ClassSpec(priority=1, demand={"cpu": 2000}, running={0: 1}),
            ClassSpec(priority=1, demand={"cpu": 1000}, pending=1),
        ],
    )
    needless = Assignment.from_counts([{1: 1}, {0: 1}])
    back = fewer_disturbed(problem, needless)
    assert back.counts()[0] == {0: 1}
    assert evaluate(problem, back).placed == evaluate(problem, needless).placed
    assert evaluate(problem, back).disturbed == 0
    assert violations(problem, back) == []


@pytest.mark.parametrize(("pending_priority", "traded"), [(1, True), (2, False)])
def test_an_eviction_for_a_pod_of_the_same_priority_is_traded_back(
    pending_priority: int, traded: bool
) -> None:
    # The running pod was evicted for a pending pod: worth it only for a higher priority.
    problem = tiny_problem(
        nodes=[{"cpu": 2000, "pods": 10}],
        classes=[
            ClassSpec(priority=1, demand={"cpu": 2000}, running={0: 1}),
            ClassSpec(priority=pending_priority, demand={"cpu": 2000}, pending=1),
        ],
    )
    evicted = Assignment.from_counts([{}, {0: 1}])
    after = fewer_disturbed(problem, evicted)
    assert violations(problem, after) == []
    assert evaluate(problem, after).placed == evaluate(problem, evicted).placed
    if traded:
        assert after.counts() == [{0: 1}, {}]
        assert evaluate(problem, after).disturbed == 0
    else:
        assert after == evicted
