"""Greedy placement on tiny hand-built problems: kube-scheduler-like preemption, never worse."""

from __future__ import annotations

import time

import numpy as np
import pytest

from scheduler_ext.model.assignment import current_assignment, evaluate, violations
from scheduler_ext.solvers.base import StageStatus
from scheduler_ext.solvers.greedy import Strategy, _State, solve_greedy
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


def test_a_deadline_passed_while_building_the_state_returns_the_current_placement() -> None:
    problem = fragmented()
    result = solve_greedy(problem, deadline=time.monotonic() - 1.0)
    assert result.assignment == current_assignment(problem)
    assert result.stages[0].status == StageStatus.TIMEOUT
    assert "building" in result.stages[0].detail


def test_the_state_built_in_blocks_matches_one_pod_at_a_time() -> None:
    """The per-priority room is summed in one vector operation: the same as pod by pod."""
    problem = fragmented()
    state = _State(problem)
    for level, priority in enumerate(state.priority_levels):
        expected = np.zeros_like(state.capacity)
        for cls, placed in zip(problem.classes, state.counts, strict=True):
            if cls.priority == priority:
                for node, k in placed.items():
                    expected[node] += np.array(cls.demand) * k
        np.testing.assert_array_equal(state.level_usage[level], expected)
