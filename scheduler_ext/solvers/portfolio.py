"""The colony half of ``--solver auto``'s fallback, run in its own child process.

Where CP-SAT runs out of room (no whole model above ``auto.MAX_WHOLE_VARIABLES``, a crashed or
hung child, a timeout) the colony still builds complete plans, and on fragmented clusters it
places pods of the lowest tiers that only moves of equal-priority pods make room for, which
greedy never does and neighbourhoods seldom find (docs/benchmarks.md, "Issue 16, session 6").
The policy's one pass runs before it in the planner (it costs about one greedy pass, and needs
no child); the colony starts from the best plan so far and replaces it only with a valid,
lexicographically better one. A child is killed at its deadline; the colony stops early enough
to check and send its plan (``colony.finish_by``).
"""

from __future__ import annotations

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.aco.colony import IncumbentCallback, solve_aco
from scheduler_ext.solvers.base import SolveResult


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
        deadline=deadline,
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
        deadline=deadline,
        workers=workers,
        on_incumbent=on_incumbent,
        seed=1,
        with_greedy=False,
    )
