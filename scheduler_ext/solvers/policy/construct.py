"""The policy at work: a one-pass constructive solver (``--solver rl``) and the colony's heuristic.

The one pass is one ant (``solvers/aco/ant.py``) that always takes the node the policy scores
highest, and lifts where the least room is missing: the same rules as greedy and the colony, so
its result is a plan, and it starts from the better of its incumbent and greedy's, so it is never
worse than either. As the colony's heuristic the scores become exp(score - best), in (0, 1].
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import PodClass, Problem
from scheduler_ext.solvers.aco.ant import base_of, walk
from scheduler_ext.solvers.aco.colony import (
    BUILD,
    DEFAULT_SETTINGS,
    ColonySettings,
    IncumbentCallback,
    finish_by,
    result_of,
    seeded_best,
    solve_aco,
)
from scheduler_ext.solvers.aco.heuristic import Heuristic
from scheduler_ext.solvers.base import SolveResult, StageReport, StageStatus
from scheduler_ext.solvers.greedy import DeadlineReached, _State
from scheduler_ext.solvers.policy.features import features
from scheduler_ext.solvers.policy.network import PolicyNet, shipped

FloatArray = npt.NDArray[np.float64]
IntpArray = npt.NDArray[np.intp]

SOLVER = "rl"


class PolicyChooser:
    """The policy's best node for every pod; lift targets by the least room missing."""

    def __init__(self, net: PolicyNet) -> None:
        self.net = net

    def place(self, state: _State, cls: PodClass, nodes: IntpArray) -> int:
        return int(np.argmax(self.net.scores(features(state, cls, nodes))))

    def targets(
        self, state: _State, cls: PodClass, nodes: IntpArray, deficit: FloatArray
    ) -> IntpArray:
        return nodes[np.argsort(deficit, kind="stable")]


def policy_heuristic(net: PolicyNet) -> Heuristic:
    def desirability(state: _State, cls: PodClass, nodes: IntpArray) -> FloatArray:
        scores = net.scores(features(state, cls, nodes))
        return np.asarray(np.exp(scores - scores.max()), dtype=np.float64)

    return desirability


def solve_rl(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
    net: PolicyNet | None = None,
    with_greedy: bool = True,
) -> SolveResult:
    """One pass of the policy; never worse than ``incumbent`` (nor greedy, ``with_greedy``)."""
    del workers, on_incumbent  # one pass: nothing to report before the end
    started = time.monotonic()
    deadline = finish_by(problem, deadline)
    base = base_of(problem)
    best = seeded_best(problem, base, incumbent, deadline, with_greedy)
    try:
        state = _State(problem, deadline)
    except DeadlineReached:
        stage = StageReport(SOLVER, StageStatus.TIMEOUT, time.monotonic() - started, detail=BUILD)
        return result_of(best, SOLVER, (stage,))
    trail = walk(
        state,
        base,
        PolicyChooser(net or shipped()),
        np.random.default_rng(0),
        deadline=deadline,
        order_noise=0.0,
        lift_limit=2 * sum(c.pending_count for c in problem.classes) + 16,
    )
    best.offer(trail, SOLVER)
    stage = StageReport(
        name=SOLVER,
        status=StageStatus.DONE if trail.complete else StageStatus.TIMEOUT,
        seconds=time.monotonic() - started,
        detail=f"best from {best.source}",
    )
    return result_of(best, SOLVER, (stage,))


def solve_rl_after_greedy(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
) -> SolveResult:
    """The planner's ``--solver rl``: its incumbent is already at least greedy's."""
    return solve_rl(problem, incumbent, deadline=deadline, with_greedy=False)


def solve_aco_rl(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
    seed: int = 0,
    settings: ColonySettings = DEFAULT_SETTINGS,
    with_greedy: bool = True,
) -> SolveResult:
    """The colony with the policy as its heuristic (the benchmarks' "aco+rl")."""
    return solve_aco(
        problem,
        incumbent,
        deadline=deadline,
        on_incumbent=on_incumbent,
        seed=seed,
        heuristic=policy_heuristic(shipped()),
        settings=settings,
        solver="aco",
        with_greedy=with_greedy,
    )
