"""Tiny clusters for the search solvers, and their results judged by the independent checker.

The search solvers (neighbourhoods, auto) have no hand-known result to compare with beyond the
tiniest cases, so their tests hold each result between bounds: the checker must accept it as a
plan (``testkit/checker.py`` shares no code with the model), it must never be lexicographically
worse than the incumbent it started from, and never better than an optimum known otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler_ext.domain import Cluster, DisruptionBudget, LabelSelector, label_items
from scheduler_ext.model.assignment import Assignment, current_assignment
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.planning import render
from scheduler_ext.planning.realize import realize
from scheduler_ext.solvers.base import SolveResult
from testkit import checker
from testkit.factories import node, pod

LOW, HIGH = 10, 1000


def fragmented(nodes: int, *, budget: int | None = None, high_cpu: int = 2000) -> Cluster:
    """``nodes`` 4-CPU nodes, each with three 1-CPU low pods (1 CPU free everywhere), and one
    pending high pod of ``high_cpu``: 2 CPUs fit once one low pod moves to another node, so the
    optimum places it with one move and no eviction. ``budget`` adds a PodDisruptionBudget over
    the low pods allowing that many disruptions."""
    names = [f"n{i}" for i in range(nodes)]
    low = [
        pod(f"low-{n}-{j}", 1000, node=n, priority=LOW, labels={"app": "low"})
        for n in names
        for j in range(3)
    ]
    budgets: tuple[DisruptionBudget, ...] = ()
    if budget is not None:
        selector = LabelSelector(match_labels=label_items({"app": "low"}))
        budgets = (DisruptionBudget("default", "low", selector, budget),)
    return Cluster(
        nodes=tuple(node(n, cpu=4000) for n in names),
        pods=(*low, pod("high-1", high_cpu, priority=HIGH)),
        budgets=budgets,
    )


def optimum_by_construction(cluster: Cluster) -> tuple[int, ...]:
    """``fragmented``'s optimum with the high pod placed by one move (see its docstring)."""
    return (1, len(cluster.pods) - 1, -1, 0)


def judged(cluster: Cluster, problem: Problem, assignment: Assignment) -> checker.CheckResult:
    """The checker's verdict on ``assignment`` as a plan; raises AssertionError if it is not one."""
    bindings, moves, evictions, _ = realize(problem, assignment)
    plan = {
        "apiVersion": render.API_VERSION,
        "kind": render.KIND,
        "spec": {
            "bindings": [{"pod": b.pod, "node": b.node} for b in bindings],
            "moves": [{"pod": m.pod, "fromNode": m.from_node, "toNode": m.to_node} for m in moves],
            "evictions": [{"pod": e.pod, "node": e.node} for e in evictions],
            "unplanned": [{"pod": p.key, "reason": why} for p, why in problem.unplanned],
        },
    }
    return checker.validate_placement(cluster, checker.plan_placement(cluster, plan))


Solve = Callable[..., SolveResult]
"""A search solver: ``(problem, incumbent, *, deadline, workers, on_incumbent)``."""


@dataclass
class Run:
    """One solve of a cluster from its current placement, with what it reported on the way."""

    cluster: Cluster
    problem: Problem
    incumbent: Assignment
    result: SolveResult
    reported: list[SolveResult] = field(default_factory=list)

    def objective(self, assignment: Assignment | None = None) -> tuple[int, ...]:
        """The checker's objective of ``assignment`` (default: the result's)."""
        chosen = self.result.assignment if assignment is None else assignment
        return judged(self.cluster, self.problem, chosen).objective


def run(solve: Solve, cluster: Cluster, seconds: float = 10.0) -> Run:
    problem = build_problem(cluster)
    incumbent = current_assignment(problem)
    reported: list[SolveResult] = []
    result = solve(
        problem,
        incumbent,
        deadline=time.monotonic() + seconds,
        workers=1,
        on_incumbent=reported.append,
    )
    return Run(cluster, problem, incumbent, result, reported)
