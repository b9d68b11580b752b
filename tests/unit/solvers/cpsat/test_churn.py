"""Needless moves undone: a pod sent away from a node that still has room for it goes back."""

from __future__ import annotations

from scheduler_ext.model.assignment import Assignment, evaluate, violations
from scheduler_ext.solvers.cpsat.churn import return_moved
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
