"""CP-SAT (and greedy beside it) on tiny hand-built problems whose optimum is known by hand."""

from __future__ import annotations

import time

from scheduler_ext.model.assignment import current_assignment, evaluate, violations
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.cpsat.solver import solve_cpsat
from scheduler_ext.solvers.greedy import solve_greedy
from tests.unit.tiny import HIGH, LOW, ClassSpec, fragmented, tiny_problem


def solve(problem: Problem, seconds: float = 5.0) -> SolveResult:
    return solve_cpsat(
        problem, current_assignment(problem), deadline=time.monotonic() + seconds, workers=2
    )


def test_cpsat_moves_a_low_pod_to_place_the_high_one() -> None:
    problem = fragmented()
    result = solve(problem)
    assert result.optimal
    assert violations(problem, result.assignment) == []
    score = evaluate(problem, result.assignment)
    # Priorities highest first: the high pod placed, both low pods still placed, one moved.
    assert score.placed == (1, 2)
    assert (score.disturbed, score.evictions) == (1, 0)


def test_budget_zero_forbids_the_move() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}, {"cpu": 4000, "pods": 10}],
        classes=[
            ClassSpec(priority=LOW, demand={"cpu": 2000}, running={0: 1, 1: 1}, budgets=[0]),
            ClassSpec(priority=HIGH, demand={"cpu": 4000}, pending=1),
        ],
        budget_limits=[0],
    )
    result = solve(problem)
    assert result.optimal
    assert evaluate(problem, result.assignment).placed == (0, 2)
    greedy = solve_greedy(problem)
    assert evaluate(problem, greedy.assignment).placed == (0, 2)


def test_max_disruptions_zero_forbids_the_move() -> None:
    problem = fragmented()
    capped = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}, {"cpu": 4000, "pods": 10}],
        classes=[
            ClassSpec(priority=LOW, demand={"cpu": 2000}, running={0: 1, 1: 1}),
            ClassSpec(priority=HIGH, demand={"cpu": 4000}, pending=1),
        ],
        max_disruptions=0,
    )
    assert evaluate(problem, solve(problem).assignment).placed == (1, 2)
    assert evaluate(capped, solve(capped).assignment).placed == (0, 2)


def test_eviction_when_no_room_for_the_victim() -> None:
    """One node: the high pod needs the whole node, so the low pod is evicted, not moved."""
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}],
        classes=[
            ClassSpec(priority=LOW, demand={"cpu": 2000}, running={0: 1}),
            ClassSpec(priority=HIGH, demand={"cpu": 4000}, pending=1),
        ],
    )
    result = solve(problem)
    score = evaluate(problem, result.assignment)
    assert result.optimal
    assert score.placed == (1, 0)
    assert (score.disturbed, score.evictions) == (1, 1)


def test_pod_count_limit_is_a_resource() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 10000, "pods": 2}],
        classes=[ClassSpec(priority=LOW, demand={"cpu": 100}, pending=5)],
    )
    result = solve(problem)
    assert evaluate(problem, result.assignment).placed == (2,)


def test_ineligible_node_keeps_only_its_own_pods() -> None:
    """Node 1 no longer passes the class's filters: its running pod may stay, none may join."""
    problem = tiny_problem(
        nodes=[{"cpu": 1000, "pods": 10}, {"cpu": 8000, "pods": 10}],
        classes=[
            ClassSpec(priority=LOW, demand={"cpu": 1000}, pending=3, running={1: 1}, eligible=[0])
        ],
    )
    result = solve(problem)
    assert result.optimal
    assert evaluate(problem, result.assignment).placed == (2,)
    assert result.assignment.counts()[0] == {0: 1, 1: 1}


def test_lower_tier_gives_way_lexicographically() -> None:
    """Three low pods or one high pod fit; one high pod beats any number of low ones."""
    problem = tiny_problem(
        nodes=[{"cpu": 3000, "pods": 10}],
        classes=[
            ClassSpec(priority=LOW, demand={"cpu": 1000}, pending=3),
            ClassSpec(priority=HIGH, demand={"cpu": 3000}, pending=1),
        ],
    )
    result = solve(problem)
    assert result.optimal
    assert evaluate(problem, result.assignment).placed == (1, 0)
