"""``--solver aco`` and ``rl`` through the planner: the plan passes the checker and credits them."""

from __future__ import annotations

import pytest

from scheduler_ext.planning.options import PlanOptions, SolverChoice
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from testkit.checker import check_plan
from tests.unit.solvers.aco.test_colony import equal_priority_fragmented


@pytest.mark.parametrize(
    "isolate",
    [pytest.param(False, id="in-process"), pytest.param(True, id="child", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("solver", ["aco", "rl"])
def test_the_planner_runs_the_fallback_after_greedy(solver: SolverChoice, isolate: bool) -> None:
    cluster = equal_priority_fragmented()
    plan = plan_to_dict(
        # The child imports every solver first (OR-Tools too): many seconds on a busy machine.
        # The fallbacks end long before the limit on this cluster.
        make_plan(cluster, PlanOptions(solver=solver, time_limit_seconds=30.0), isolate=isolate)
    )
    result = check_plan(cluster, plan)
    assert result.objective == (3, -1, 0)
    status = plan["status"]
    assert isinstance(status, dict)
    assert status["solver"] == solver
    assert status["optimal"] is False
