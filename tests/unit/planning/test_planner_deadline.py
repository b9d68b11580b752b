"""make_plan returns within its budget: the issue's "budget plus 0.2 s" (issue 15), measured as the
service calls it (the worker started ahead, the clock from the call) on a mid-size cluster, where
the solver children run to their deadline and a late one is killed."""

from __future__ import annotations

import time

import pytest

from benchmarks.workloads_fragmented import fragmented_cluster
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import (
    SERVICE_LATE_SECONDS,
    Reserve,
    make_plan,
    search_deadline,
)
from scheduler_ext.planning.render import plan_to_dict
from scheduler_ext.solvers.isolation import GRACE_SECONDS, SolverWorker
from testkit.checker import check_plan

MARGIN_SECONDS = 1.0
"""Past the budget, what a loaded CI machine may add. The issue's 0.2 s is a figure of the
benchmarks on a quiet machine (docs/benchmarks.md, issue 15, session 8: 0.995-1.030 s for a 1 s
budget on this cluster); this test guards the deadline itself: on this cluster the solver
children would run on, and a plan that ignored its deadline would be seconds late."""


@pytest.mark.slow
@pytest.mark.parametrize("budget", [1.5, 3.0])
def test_make_plan_returns_within_its_budget_on_a_mid_size_cluster(budget: float) -> None:
    cluster = fragmented_cluster(100, 30, seed=3)  # 3,000 pods: the solver children run to the end
    with SolverWorker() as worker:
        time.sleep(0.5)  # started ahead, as the service does: its imports are not the budget's
        started = time.monotonic()
        plan = make_plan(
            cluster, PlanOptions(time_limit_seconds=budget), started=started, worker=worker
        )
        elapsed = time.monotonic() - started
    check_plan(cluster, plan_to_dict(plan))
    assert elapsed <= budget + MARGIN_SECONDS, f"{elapsed:.3f} s for a {budget} s budget"
    assert plan.status.wall_seconds <= elapsed


@pytest.mark.parametrize("pods", [32, 256, 3_000])
def test_the_service_path_stops_its_solvers_later_than_the_command(pods: int) -> None:
    # The service keeps back the children's usual overshoot, not their whole grace (issue 15).
    command = search_deadline(0.0, 1.0, pods, reserve="command")
    service = search_deadline(0.0, 1.0, pods, reserve="service")
    assert command < service < 1.0
    assert service - command >= GRACE_SECONDS - SERVICE_LATE_SECONDS


@pytest.mark.parametrize("reserve", ["service", "command"])
def test_a_slow_build_keeps_more_back_but_never_half_the_budget(reserve: Reserve) -> None:
    quick = search_deadline(0.0, 1.0, 100, built=0.01, reserve=reserve)
    slow = search_deadline(0.0, 1.0, 100, built=0.4, reserve=reserve)
    stalled = search_deadline(0.0, 1.0, 100, built=5.0, reserve=reserve)
    assert slow < quick
    assert stalled == 0.5
