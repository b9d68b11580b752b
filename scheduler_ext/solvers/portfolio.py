"""The colony half of ``--solver auto``'s fallback, run in its own child process.

Where CP-SAT runs out of room (no whole model above ``auto.MAX_WHOLE_VARIABLES``, a crashed or
hung child, a timeout) the colony still builds complete plans, and on fragmented clusters it
places pods of the lowest tiers that only moves of equal-priority pods make room for, which
greedy never does and neighbourhoods seldom find (docs/benchmarks.md, "Issue 16, session 6").
The policy's one pass runs before it in the planner (it costs about one greedy pass, and needs
no child); the colony starts from the best plan so far and replaces it only with a valid,
lexicographically better one. A child is killed at its deadline, so the colony stops early
enough to check and send its plan (``finish_by``).
"""

from __future__ import annotations

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.aco.colony import IncumbentCallback, solve_aco
from scheduler_ext.solvers.base import SolveResult

FINISH_SECONDS = 0.3
FINISH_SECONDS_PER_POD = 8e-6
"""Kept back from the child's deadline: after its last ant the colony checks its best plan
(``evaluate`` and ``violations``, about 1 s at 140,000 pods on a loaded core) and sends it; the
parent kills the child at the deadline, so a plan checked too late is lost (a colony that
never improved on its incumbent reports only then: at a load average of 30, 0.05 s was too
little at 100 nodes)."""


def finish_by(problem: Problem, deadline: float) -> float:
    pods = sum(cls.count for cls in problem.classes) + sum(k for _, k in problem.fixed_by_priority)
    return deadline - FINISH_SECONDS - FINISH_SECONDS_PER_POD * pods


def solve_fallback(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
    seed: int = 0,
) -> SolveResult:
    """Ants until ``deadline`` (less the time to check and send the plan)."""
    return solve_aco(
        problem,
        incumbent,
        deadline=finish_by(problem, deadline),
        workers=workers,
        on_incumbent=on_incumbent,
        seed=seed,
        with_greedy=False,
    )


def solve_fallback_again(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
) -> SolveResult:
    """A second colony after CP-SAT (crashed, failed or left time), with another seed."""
    return solve_aco(
        problem,
        incumbent,
        deadline=finish_by(problem, deadline),
        workers=workers,
        on_incumbent=on_incumbent,
        seed=1,
        with_greedy=False,
    )
