"""Greedy placement on tiny hand-built problems: kube-scheduler-like preemption, never worse."""

from __future__ import annotations

import pytest

from scheduler_ext.model.assignment import current_assignment, evaluate, violations
from scheduler_ext.solvers.greedy import Strategy, solve_greedy
from tests.unit.tiny import fragmented


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
