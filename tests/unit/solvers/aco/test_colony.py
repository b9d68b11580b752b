"""The ant colony on tiny clusters: every result a plan by the independent checker, never worse
than greedy or the current placement, and better where only a move of an equal pod helps."""

from __future__ import annotations

import dataclasses
import time
from functools import partial

from scheduler_ext.domain import Cluster
from scheduler_ext.model.assignment import current_assignment
from scheduler_ext.model.problem import build_problem
from scheduler_ext.solvers.aco.colony import SOLVER, ColonySettings, solve_aco
from scheduler_ext.solvers.base import StageStatus
from scheduler_ext.solvers.greedy import solve_greedy
from testkit.factories import node, pod
from tests.unit.solvers.checked import fragmented, judged, optimum_by_construction, run

LOW, HIGH = 10, 1000
QUICK = ColonySettings(stall_rounds=10)


def equal_priority_fragmented(receiver_cpu: int = 4000) -> Cluster:
    """Two nodes each run one 2-CPU pod; a pending 4-CPU pod of the same priority fits only once
    one of them moves next to the other (``receiver_cpu`` below 4 CPUs: it cannot). Greedy, as
    kube-scheduler, never preempts a pod of equal priority."""
    return Cluster(
        nodes=(node("n0", cpu=4000), node("n1", cpu=receiver_cpu)),
        pods=(
            pod("old-a", 2000, node="n0", priority=LOW),
            pod("old-b", 2000, node="n1", priority=LOW),
            pod("new-1", 4000, priority=LOW),
        ),
    )


def test_moves_a_pod_of_equal_priority_where_greedy_cannot() -> None:
    done = run(partial(solve_aco, settings=QUICK), equal_priority_fragmented())
    greedy = solve_greedy(done.problem)
    assert done.objective(greedy.assignment) == done.objective(done.incumbent)
    # All three pods placed, by one move and no eviction.
    assert done.objective() == (3, -1, 0)
    assert done.result.solver == SOLVER
    assert done.reported
    assert done.reported[-1].assignment == done.result.assignment


def test_places_the_high_pod_with_one_move() -> None:
    done = run(partial(solve_aco, settings=QUICK), fragmented(8))
    assert done.objective() == optimum_by_construction(done.cluster)


def test_a_budget_of_zero_keeps_every_low_pod_where_it_is() -> None:
    done = run(partial(solve_aco, settings=QUICK), fragmented(8, budget=0), seconds=3.0)
    assert done.objective() == done.objective(done.incumbent)


def test_a_pod_too_large_for_any_node_leaves_the_incumbent_as_it_was() -> None:
    done = run(partial(solve_aco, settings=QUICK), fragmented(8, high_cpu=5000), seconds=3.0)
    assert done.result.assignment == done.incumbent
    assert done.reported == []


def test_a_never_pod_moves_pods_of_its_priority_and_evicts_none_below_it() -> None:
    cluster = equal_priority_fragmented()
    never = dataclasses.replace(cluster.pods[2], preempts=False)
    moved = run(
        partial(solve_aco, settings=QUICK),
        dataclasses.replace(cluster, pods=(*cluster.pods[:2], never)),
    )
    assert moved.objective() == (3, -1, 0)
    # Above the running pods it would have to leave one of them homeless (n1 has no room).
    full = equal_priority_fragmented(receiver_cpu=2000)
    high = dataclasses.replace(never, priority=HIGH)
    stuck = run(
        partial(solve_aco, settings=QUICK),
        dataclasses.replace(full, pods=(*full.pods[:2], high)),
        seconds=2.0,
    )
    assert stuck.objective() == stuck.objective(stuck.incumbent) == (0, 2, 0, 0)


def test_the_same_seed_gives_the_same_plan() -> None:
    problem = build_problem(fragmented(12))
    incumbent = current_assignment(problem)
    plans = [
        solve_aco(
            problem,
            incumbent,
            deadline=time.monotonic() + 30,
            seed=7,
            settings=QUICK,
            with_greedy=False,
        ).assignment
        for _ in range(2)
    ]
    assert plans[0] == plans[1]


def test_a_spent_deadline_returns_the_incumbent_at_once() -> None:
    cluster = fragmented(8)
    problem = build_problem(cluster)
    incumbent = solve_greedy(problem).assignment
    result = solve_aco(problem, incumbent, deadline=time.monotonic() - 1)
    assert judged(cluster, problem, result.assignment).objective == (
        judged(cluster, problem, incumbent).objective
    )
    assert [s.status for s in result.stages] == [StageStatus.TIMEOUT]


def test_a_deadline_passed_before_the_colony_starts_keeps_the_incumbent() -> None:
    done = run(partial(solve_aco, settings=QUICK, with_greedy=False), fragmented(8), seconds=-1.0)
    assert done.result.assignment == done.incumbent
    assert done.result.solver == "none"
