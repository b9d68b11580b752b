"""Neighbourhood search on tiny clusters: every result a valid plan, never worse than where it
started, never better than the optimum known otherwise."""

from __future__ import annotations

import random
import time

from scheduler_ext.domain import Cluster, Taint
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
from testkit.factories import node, pod
from tests.unit.solvers.checked import (
    HIGH,
    LOW,
    fragmented,
    judged,
    optimum_by_construction,
    run,
)

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


def _tainted_holes(general: int, gpus: int) -> Cluster:
    """``fragmented`` in a ``pool=general`` pool (every pod selects it), beside ``gpus`` empty
    nodes behind a taint no pod tolerates: the largest holes in the cluster, and useless."""
    names = [f"g{i}" for i in range(general)]
    pool = {"pool": "general"}
    low = [
        pod(f"low-{n}-{j}", 1000, node=n, priority=LOW, labels={"app": "low"}, node_selector=pool)
        for n in names
        for j in range(3)
    ]
    nodes = [node(n, cpu=4000, labels=pool) for n in names]
    gpu = Taint(key="gpu", effect="NoSchedule")
    nodes += [node(f"gpu{i}", cpu=4000, taints=[gpu]) for i in range(gpus)]
    high = pod("high-1", 2000, priority=HIGH, node_selector=pool)
    return Cluster(nodes=tuple(nodes), pods=(*low, high))


def test_receivers_are_nodes_the_pods_in_play_may_land_on() -> None:
    cluster = _tainted_holes(NODES, 3 * RECEIVERS)
    problem = build_problem(cluster)
    counts = current_assignment(problem).counts()
    high = next(cls.index for cls in problem.classes if cls.pending_count)
    free = problem.capacity_matrix - node_load(problem, counts)
    general = {i for i, slot in enumerate(problem.nodes) if not slot.name.startswith("gpu")}
    for seed in range(20):
        scope = pick_scope(problem, counts, high, random.Random(seed), free)
        assert len(scope) > HOSTS
        assert set(scope) <= general, [problem.nodes[n].name for n in scope]


def test_tainted_holes_do_not_keep_the_search_from_placing_the_pod() -> None:
    cluster = _tainted_holes(NODES, 3 * RECEIVERS)
    problem = build_problem(cluster)
    incumbent = current_assignment(problem)
    result = solve_neighbourhoods(problem, incumbent, deadline=time.monotonic() + 3.0, workers=1)
    placed = judged(cluster, problem, result.assignment).objective
    assert placed > judged(cluster, problem, incumbent).objective
