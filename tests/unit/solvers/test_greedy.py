"""Greedy placement on tiny hand-built problems: kube-scheduler-like preemption, never worse."""

from __future__ import annotations

import pytest

from scheduler_ext.model.assignment import current_assignment, evaluate, violations
from scheduler_ext.solvers.greedy import Strategy, solve_greedy
from tests.unit.tiny import HIGH, LOW, ClassSpec, fragmented, tiny_problem


def test_greedy_preempts_and_replaces_the_victim() -> None:
    problem = fragmented()
    result = solve_greedy(problem)
    score = evaluate(problem, result.assignment)
    assert violations(problem, result.assignment) == []
    # kube-scheduler-like: one low pod preempted, then rescheduled next to the other one.
    assert score.placed == (1, 2)


@pytest.mark.parametrize("strategy", ["spread", "pack"])
def test_greedy_never_worse_than_current(strategy: Strategy) -> None:
    problem = fragmented()
    result = solve_greedy(problem, strategy=strategy)
    assert (
        evaluate(problem, result.assignment).key
        >= evaluate(problem, current_assignment(problem)).key
    )


@pytest.mark.parametrize(
    ("budget_limits", "max_disruptions", "budgets"),
    [
        pytest.param((), 1, (), id="max-disruptions"),
        pytest.param((1,), None, (0,), id="one-budget-over-two-classes"),
    ],
)
def test_victims_of_two_classes_respect_a_shared_limit(
    budget_limits: tuple[int, ...], max_disruptions: int | None, budgets: tuple[int, ...]
) -> None:
    # The high pod needs both low pods' room on n0; each class alone is within the limit of 1,
    # both together are not: greedy must leave the high pod pending rather than break the limit.
    problem = tiny_problem(
        [{"cpu": 4, "pods": 10}],
        [
            ClassSpec(priority=HIGH, demand={"cpu": 4}, pending=1),
            ClassSpec(priority=LOW, demand={"cpu": 2}, running={0: 1}, budgets=budgets),
            ClassSpec(priority=LOW + 1, demand={"cpu": 2}, running={0: 1}, budgets=budgets),
        ],
        budget_limits=budget_limits,
        max_disruptions=max_disruptions,
    )
    result = solve_greedy(problem)
    assert violations(problem, result.assignment) == []
    assert evaluate(problem, result.assignment).placed == (0, 1, 1)
