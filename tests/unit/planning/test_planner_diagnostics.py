"""The plan's diagnostics on the search: how far its churn may be from the fewest possible."""

from __future__ import annotations

from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from testkit.bruteforce import brute_force
from testkit.checker import check_plan
from tests.unit.solvers.checked import fragmented


def test_a_proven_plan_reports_its_disruption_at_the_bound() -> None:
    cluster = fragmented(3)
    plan = plan_to_dict(make_plan(cluster, PlanOptions(time_limit_seconds=10), isolate=False))
    result = check_plan(cluster, plan)
    assert plan["status"]["optimal"]
    assert result.objective == brute_force(cluster, max_free_pods=10).objective
    assert plan["status"]["diagnostics"]["disruption"] == {
        "disturbed": result.disturbed,
        "lowerBound": result.disturbed,
    }


def test_a_plan_that_disturbs_nothing_reports_no_disruption() -> None:
    cluster = fragmented(3, high_cpu=1000)  # fits in the free room as it is
    plan = plan_to_dict(make_plan(cluster, PlanOptions(time_limit_seconds=10), isolate=False))
    assert check_plan(cluster, plan).disturbed == 0
    assert "disruption" not in plan["status"]["diagnostics"]
