"""What ``--solver auto`` runs: neighbourhoods first to improve fast, then the whole model to prove.

Measured on the paper's workloads (docs/benchmarks.md), CP-SAT on a few nodes at a time finds
improvements that the whole-cluster model does not find within a second from 16 nodes up, while
only the whole model can prove a placement optimal. So the budget is split: neighbourhood search
first, then the whole model hinted with the better incumbent, while the model is small enough to
build within the budget; beyond that, neighbourhood search only. Up to ``WHOLE_ONLY_NODES`` nodes
the whole model runs alone, as neighbourhoods there are most of the cluster and found nothing; so
does a small whole model when little time is left (``WHOLE_ONLY_VARIABLES``, ``SHORT_SECONDS``).
"""

from __future__ import annotations

import time
from dataclasses import replace

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.cpsat.solver import IncumbentCallback, solve_cpsat
from scheduler_ext.solvers.neighbourhood import solve_neighbourhoods

NEIGHBOURHOOD_SHARE = 0.5
"""Share of the remaining time for neighbourhood search before the whole model."""

MAX_WHOLE_VARIABLES = 20_000
"""Above this many class x node variables, the whole model is not built at all."""

WHOLE_ONLY_NODES = 8
"""Up to this many nodes the whole model runs alone: a neighbourhood (``HOSTS + RECEIVERS``) would
be most of the cluster. On the paper's 8-node instances the neighbourhoods found no improvement in
16 of 16 within their half of 0.85 s, and the whole model alone left 17 pods short of the
reference placements in all, against 27 after them."""


WHOLE_ONLY_VARIABLES = 4_000
"""A whole model this small (the paper's 32 x 8: 3,200-3,700) also runs alone when less than
``SHORT_SECONDS`` are left: at 1 s the neighbourhoods at 16-32 nodes got one round with no
improvement in 6 of 6 instances (the service path, load 10; docs/benchmarks.md, "Issue 15,
session 7"), each round's model costing about the whole one's build."""
SHORT_SECONDS = 2.0


def model_size(problem: Problem) -> int:
    return sum(len(cls.domain()) for cls in problem.classes)


def solve_auto(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
) -> SolveResult:
    size = model_size(problem)
    whole = size <= MAX_WHOLE_VARIABLES
    short = deadline - time.monotonic() < SHORT_SECONDS and size <= WHOLE_ONLY_VARIABLES
    if whole and (len(problem.nodes) <= WHOLE_ONLY_NODES or short):
        return solve_cpsat(
            problem, incumbent, deadline=deadline, workers=workers, on_incumbent=on_incumbent
        )
    split = time.monotonic() + (deadline - time.monotonic()) * NEIGHBOURHOOD_SHARE
    first = solve_neighbourhoods(
        problem,
        incumbent,
        deadline=split if whole else deadline,
        workers=workers,
        on_incumbent=on_incumbent,
    )
    if not whole:
        return first

    def relay(result: SolveResult) -> None:
        if on_incumbent is not None:
            on_incumbent(_credited(result, first))

    second = solve_cpsat(
        problem,
        first.assignment,
        deadline=deadline,
        workers=workers,
        on_incumbent=relay if on_incumbent is not None else None,
    )
    return SolveResult(
        assignment=second.assignment,
        optimal=second.optimal,
        solver=_credited(second, first).solver,
        stages=first.stages + second.stages,
        disruption_bound=second.disruption_bound,
    )


def _credited(result: SolveResult, start: SolveResult) -> SolveResult:
    """``result`` of the whole model started from ``start``, credited to ``start``'s solver when
    the whole model neither improved on its assignment nor proved it optimal."""
    if result.optimal or result.assignment is not start.assignment:
        return result
    return replace(result, solver=start.solver)
