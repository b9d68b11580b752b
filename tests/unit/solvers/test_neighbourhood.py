"""Neighbourhood search on tiny clusters: every result a valid plan, never worse than where it
started, never better than the optimum known otherwise."""

from __future__ import annotations

import random
import time

from scheduler_ext.model.assignment import current_assignment, node_load
from scheduler_ext.model.problem import build_problem
from scheduler_ext.solvers.base import StageStatus
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.neighbourhood import (
    HOSTS,
    RECEIVERS,
    SOLVER,
    pick_scope,
    solve_neighbourhoods,
)
from testkit.bruteforce import brute_force
from tests.unit.solvers.checked import fragmented, judged, optimum_by_construction, run

NODES = HOSTS + RECEIVERS + 2
"""More nodes than one neighbourhood holds, so each round sees only part of the cluster."""


def test_places_the_pod_by_one_move_seeing_part_of_the_cluster_at_a_time() -> None:
    done = run(solve_neighbourhoods, fragmented(NODES))
    best = optimum_by_construction(done.cluster)
    assert done.objective(done.incumbent) <= done.objective() <= best
    assert done.objective() == best
    assert (done.result.solver, done.result.optimal) == (SOLVER, False)
    [stage] = done.result.stages
    assert (stage.name, stage.status) == ("neighbourhoods", StageStatus.DONE)
    assert "improvements" in stage.detail
    # What it reported on the way: valid plans, each better than the last, under its own name.
    objectives = [done.objective(r.assignment) for r in done.reported]
    assert objectives == sorted(set(objectives))
    assert objectives[-1] == best
    assert {r.solver for r in done.reported} == {SOLVER}


def test_matches_the_exhaustive_optimum_on_three_nodes() -> None:
    done = run(solve_neighbourhoods, fragmented(3))
    assert done.objective() == brute_force(done.cluster, max_free_pods=10).objective


def test_a_budget_of_zero_keeps_every_low_pod_where_it_is() -> None:
    done = run(solve_neighbourhoods, fragmented(NODES, budget=0), seconds=3.0)
    assert done.objective() == done.objective(done.incumbent)  # nothing may move: no gain


def test_a_pod_too_large_for_any_node_leaves_the_incumbent_as_it_was() -> None:
    done = run(solve_neighbourhoods, fragmented(NODES, high_cpu=5000), seconds=3.0)
    assert done.result.assignment == done.incumbent
    assert done.reported == []


def test_never_worse_than_a_greedy_incumbent() -> None:
    cluster = fragmented(NODES)
    problem = build_problem(cluster)
    greedy = solve_greedy(problem).assignment
    result = solve_neighbourhoods(problem, greedy, deadline=time.monotonic() + 3.0, workers=1)
    assert judged(cluster, problem, result.assignment).objective >= (
        judged(cluster, problem, greedy).objective
    )


def test_a_scope_is_a_few_hosts_and_receivers_not_the_whole_cluster() -> None:
    problem = build_problem(fragmented(NODES))
    counts = current_assignment(problem).counts()
    high = next(cls.index for cls in problem.classes if cls.pending_count)
    free = problem.capacity_matrix - node_load(problem, counts)
    scope = pick_scope(problem, counts, high, random.Random(0), free)
    assert HOSTS < len(scope) <= HOSTS + RECEIVERS < NODES
