"""The fallback half of ``--solver auto``: the policy's one pass, then the ant colony after it.

Where CP-SAT runs out of room (no whole model above ``auto.MAX_WHOLE_VARIABLES``, a crashed or
hung child, a timeout) these still build complete plans, and on fragmented clusters they place
pods of the lowest tiers that only moves of equal-priority pods can make room for, which greedy
never does and neighbourhoods seldom find (docs/benchmarks.md, "Fallback solvers"). The one pass
costs about one ant and often gets the colony's placed counts at once; the colony then spends the
rest of its time on fewer moves. Both start from the incumbent (at least greedy's in the planner)
and replace it only with a valid, lexicographically better plan.
"""

from __future__ import annotations

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.aco.colony import IncumbentCallback, solve_aco
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.policy.construct import SOLVER as RL
from scheduler_ext.solvers.policy.construct import PolicyChooser
from scheduler_ext.solvers.policy.network import shipped

FINISH_SECONDS = 0.05
FINISH_SECONDS_PER_POD = 8e-6
"""Kept back from the child's deadline: after its last ant the colony checks its best plan
(``evaluate`` and ``violations``, about 1 s at 140,000 pods on a loaded core) and sends it; the
parent kills the child at the deadline, so a plan checked too late is lost."""


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
    """The policy's pass as the colony's first walk, then ants until ``deadline``."""
    return solve_aco(
        problem,
        incumbent,
        deadline=finish_by(problem, deadline),
        workers=workers,
        on_incumbent=on_incumbent,
        seed=seed,
        with_greedy=False,
        opening=(RL, PolicyChooser(shipped())),
    )


def solve_fallback_again(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
) -> SolveResult:
    """A second colony after CP-SAT (crashed, failed or left time): other seed, no opening (the
    one pass is deterministic and already ran)."""
    return solve_aco(
        problem,
        incumbent,
        deadline=finish_by(problem, deadline),
        workers=workers,
        on_incumbent=on_incumbent,
        seed=1,
        with_greedy=False,
    )
