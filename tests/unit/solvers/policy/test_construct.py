"""The policy's one pass and the colony guided by it: checker-valid plans, never worse than
greedy, and the move greedy cannot make."""

from __future__ import annotations

from functools import partial

import pytest

from scheduler_ext.solvers.aco.colony import ColonySettings
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.policy.construct import SOLVER, solve_aco_rl, solve_rl
from tests.unit.solvers.aco.test_colony import equal_priority_fragmented
from tests.unit.solvers.checked import Solve, fragmented, optimum_by_construction, run


def test_one_pass_moves_a_pod_of_equal_priority() -> None:
    done = run(solve_rl, equal_priority_fragmented())
    assert done.objective() == (3, -1, 0)
    assert done.result.solver == SOLVER


@pytest.mark.parametrize(
    "solve",
    [
        pytest.param(solve_rl, id="rl"),
        pytest.param(partial(solve_aco_rl, settings=ColonySettings(stall_rounds=10)), id="aco+rl"),
    ],
)
@pytest.mark.parametrize("budget", [None, 0, 1])
def test_plans_are_valid_and_never_worse_than_greedy(solve: Solve, budget: int | None) -> None:
    done = run(solve, fragmented(6, budget=budget), seconds=5.0)
    greedy = solve_greedy(done.problem).assignment
    assert done.objective(greedy) <= done.objective() <= optimum_by_construction(done.cluster)
