"""The colony: ants in rounds, pheromone that remembers where good plans put each class.

A max-min ant system (Stuetzle and Hoos): pheromone starts at its ceiling, evaporates every
round, and only the round's best ant (and, every few rounds, the best plan so far) deposits, on
the (class, node group) pairs where it landed pods and lifted for them; values are clamped
between a floor and the ceiling so that no choice dies out. The colony starts from the better of
its incumbent and greedy's two strategies, so it is never worse than greedy or the current
placement, and it replaces that best plan only with a valid, lexicographically better one
(``evaluate(...).key``, ``violations(...) == []``, the same test as the planner's).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.assignment import Assignment, evaluate, violations
from scheduler_ext.model.problem import PodClass, Problem
from scheduler_ext.solvers.aco.ant import Base, Trail, base_of, walk
from scheduler_ext.solvers.aco.groups import node_groups
from scheduler_ext.solvers.aco.heuristic import FIT_FLOOR, Heuristic, fit
from scheduler_ext.solvers.base import SolveResult, StageReport, StageStatus
from scheduler_ext.solvers.greedy import DeadlineReached, _State, solve_greedy

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntpArray = npt.NDArray[np.intp]
IncumbentCallback = Callable[[SolveResult], None]

SOLVER = "aco"
"""What a plan's ``status.solver`` says when its assignment came from the colony."""


@dataclass(frozen=True)
class ColonySettings:
    ants: int = 8
    """Ants per round."""
    alpha: float = 1.0
    """Weight of pheromone in a choice."""
    beta: float = 2.0
    """Weight of the heuristic in a choice."""
    evaporation: float = 0.1
    """Share of pheromone lost per round (rho)."""
    exploit: float = 0.3
    """Chance that a choice takes the most desirable node instead of sampling (q0)."""
    floor: float = 0.05
    """Pheromone floor as a share of the ceiling (1.0)."""
    elite_every: int = 5
    """Every this many rounds the best plan so far deposits instead of the round's best."""
    stall_rounds: int = 40
    """Rounds without improvement after which the colony stops before its deadline."""
    order_noise: float = 0.5
    """How much pods of one priority are shuffled around largest-first."""
    lifts_per_pending: int = 2
    """Lifts an ant may make per pending pod (plus ``LIFT_SLACK``)."""


DEFAULT_SETTINGS = ColonySettings()
LIFT_SLACK = 16
BUILD = "deadline while building the state"
FINISH_SECONDS = 0.3
FINISH_SECONDS_PER_POD = 8e-6
"""Kept back from the deadline: after its last ant the colony checks its best plan
(``evaluate`` and ``violations``, about 1 s at 140,000 pods on a loaded core) and returns it; a
parent kills a child at the deadline, so a plan checked too late is lost (a colony that
never improved on its incumbent reports only then: at a load average of 30, 0.05 s was too
little at 100 nodes)."""


def finish_by(problem: Problem, deadline: float) -> float:
    pods = sum(cls.count for cls in problem.classes) + sum(k for _, k in problem.fixed_by_priority)
    return deadline - FINISH_SECONDS - FINISH_SECONDS_PER_POD * pods


class Pheromone:
    """Per class, one value per node group; rows made on first use (most classes never move)."""

    def __init__(self, groups: IntpArray, settings: ColonySettings) -> None:
        self.groups = groups
        self.size = int(groups.max()) + 1 if len(groups) else 0
        self.settings = settings
        self.place: dict[int, FloatArray] = {}
        self.target: dict[int, FloatArray] = {}

    def row(self, table: dict[int, FloatArray], index: int) -> FloatArray:
        found = table.get(index)
        if found is None:
            found = table[index] = np.ones(self.size)
        return found

    def evaporate(self) -> None:
        keep = 1.0 - self.settings.evaporation
        for table in (self.place, self.target):
            for row in table.values():
                np.maximum(row * keep, self.settings.floor, out=row)

    def deposit(
        self, landings: tuple[tuple[int, int], ...], lifts: tuple[tuple[int, int], ...]
    ) -> None:
        amount = self.settings.evaporation
        for table, pairs in ((self.place, landings), (self.target, lifts)):
            for index, group in {(c, int(self.groups[n])) for c, n in pairs}:
                row = self.row(table, index)
                row[group] = min(1.0, row[group] + amount)


class ColonyChooser:
    """Choices by pheromone^alpha x heuristic^beta: the best with chance ``exploit``, else drawn."""

    def __init__(
        self,
        pheromone: Pheromone,
        heuristic: Heuristic,
        settings: ColonySettings,
        rng: np.random.Generator,
    ) -> None:
        self.pheromone = pheromone
        self.heuristic = heuristic
        self.settings = settings
        self.rng = rng

    def _weights(
        self, table: dict[int, FloatArray], cls: PodClass, nodes: IntpArray, eta: FloatArray
    ) -> FloatArray:
        tau = self.pheromone.row(table, cls.index)[self.pheromone.groups[nodes]]
        weights = tau**self.settings.alpha * np.maximum(eta, 1e-12) ** self.settings.beta
        return np.asarray(weights, dtype=np.float64)

    def place(self, state: _State, cls: PodClass, nodes: IntpArray) -> int:
        weights = self._weights(self.pheromone.place, cls, nodes, self.heuristic(state, cls, nodes))
        if len(nodes) == 1 or self.rng.random() < self.settings.exploit:
            return int(np.argmax(weights))
        cumulative = np.cumsum(weights)
        drawn = self.rng.random() * cumulative[-1]
        return int(min(np.searchsorted(cumulative, drawn, side="right"), len(nodes) - 1))

    def targets(
        self, state: _State, cls: PodClass, nodes: IntpArray, deficit: FloatArray
    ) -> IntpArray:
        eta = FIT_FLOOR / (FIT_FLOOR + deficit)
        weights = self._weights(self.pheromone.target, cls, nodes, eta)
        if self.rng.random() < self.settings.exploit:
            return nodes[np.argsort(-weights, kind="stable")]
        # Drawn without replacement in proportion to the weights: the Gumbel top-k trick.
        gumbel = -np.log(-np.log(self.rng.random(len(nodes)) + 1e-300) + 1e-300)
        return nodes[np.argsort(-(np.log(weights) + gumbel), kind="stable")]


class BestPlan:
    """The best valid assignment so far and the choices that led to it."""

    def __init__(self, problem: Problem, base: Base, incumbent: Assignment) -> None:
        self.problem = problem
        self.assignment = incumbent
        self.trail = trail_of(problem, base, incumbent)
        self.key = self.trail.key
        self.source = "incumbent"

    def offer(self, trail: Trail, source: str) -> bool:
        if trail.key <= self.key:
            return False
        key = evaluate(self.problem, trail.assignment).key
        if key != trail.key:  # the walk's incremental count is a shortcut: trust the model's
            logger.error("%s counted %s, the model %s", source, trail.key, key)
            if key <= self.key:
                return False
        broken = violations(self.problem, trail.assignment)
        if broken:  # a bug: never let it become the plan
            logger.error("%s built an invalid assignment: %s", source, broken[:3])
            return False
        self.assignment, self.key, self.trail, self.source = trail.assignment, key, trail, source
        return True


def trail_of(problem: Problem, base: Base, assignment: Assignment) -> Trail:
    """A trail for an assignment made elsewhere: its landings, no lifts."""
    landings: list[tuple[int, int]] = []
    changes: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    for cls, placed in zip(problem.classes, assignment.counts(), strict=True):
        running = cls.running_on()
        landings += [(cls.index, n) for n, k in placed.items() if k > running.get(n, 0)]
        nodes = sorted(
            n for n in running.keys() | placed.keys() if placed.get(n, 0) != running.get(n, 0)
        )
        if nodes:
            changes.append((cls.index, tuple((n, placed.get(n, 0)) for n in nodes)))
    return Trail(
        base=base,
        key=evaluate(problem, assignment).key,
        changes=tuple(changes),
        landings=tuple(landings),
        lifts=(),
        complete=True,
    )


def seeded_best(
    problem: Problem, base: Base, incumbent: Assignment, deadline: float, with_greedy: bool
) -> BestPlan:
    best = BestPlan(problem, base, incumbent)
    for strategy in ("spread", "pack") if with_greedy else ():
        result = solve_greedy(problem, strategy=strategy, deadline=deadline)
        best.offer(trail_of(problem, base, result.assignment), f"greedy-{strategy}")
    return best


def _nothing_to_gain(problem: Problem, key: tuple[int, ...]) -> bool:
    """Every pod placed and nobody disturbed: no plan can be better."""
    total = sum(cls.count for cls in problem.classes) + sum(k for _, k in problem.fixed_by_priority)
    return sum(key[: len(problem.priorities)]) == total and key[-2] == 0


def solve_aco(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
    seed: int = 0,
    heuristic: Heuristic = fit,
    settings: ColonySettings = DEFAULT_SETTINGS,
    solver: str = SOLVER,
    with_greedy: bool = True,
) -> SolveResult:
    """The colony's best plan by ``deadline``, never worse than ``incumbent`` nor (with
    ``with_greedy``) than greedy's; ``workers`` is unused (one core, numpy)."""
    del workers
    started = time.monotonic()
    deadline = finish_by(problem, deadline)
    base = base_of(problem)
    best = seeded_best(problem, base, incumbent, deadline, with_greedy)
    if on_incumbent is not None and best.source != "incumbent":
        on_incumbent(result_of(best, solver, ()))  # greedy beat the incumbent: that is news
    try:
        state = _State(problem, deadline)
    except DeadlineReached:
        stage = StageReport(solver, StageStatus.TIMEOUT, time.monotonic() - started, detail=BUILD)
        return result_of(best, solver, (stage,))
    pending = sum(cls.pending_count for cls in problem.classes)
    pheromone = Pheromone(node_groups(problem), settings)
    pheromone.deposit(best.trail.landings, best.trail.lifts)
    rng = np.random.default_rng(seed)
    chooser = ColonyChooser(pheromone, heuristic, settings, rng)
    lift_limit = settings.lifts_per_pending * pending + LIFT_SLACK
    rounds = stall = ants = 0
    stopped = False
    while stall < settings.stall_rounds and not _nothing_to_gain(problem, best.key):
        if time.monotonic() >= deadline:
            stopped = True
            break
        rounds += 1
        trails: list[Trail] = []
        for _ in range(settings.ants):
            trail = walk(
                state,
                base,
                chooser,
                rng,
                deadline=deadline,
                order_noise=settings.order_noise,
                lift_limit=lift_limit,
            )
            ants += 1
            trails.append(trail)
            if not trail.complete:
                stopped = True
                break
        leader = max(trails, key=lambda trail: trail.key)
        if best.offer(leader, solver):
            stall = 0
            if on_incumbent is not None:
                on_incumbent(result_of(best, solver, ()))
        else:
            stall += 1
        pheromone.evaporate()
        elite = best.trail if rounds % settings.elite_every == 0 else leader
        pheromone.deposit(elite.landings, elite.lifts)
        if stopped:
            break
    seconds = time.monotonic() - started
    stage = StageReport(
        name=solver,
        status=StageStatus.TIMEOUT if stopped else StageStatus.DONE,
        seconds=seconds,
        detail=f"{rounds} rounds, {ants} ants, {pheromone.size} node groups, "
        f"best from {best.source}",
    )
    logger.debug("%s: %s in %.3fs", solver, stage.detail, seconds)
    return result_of(best, solver, (stage,))


def result_of(best: BestPlan, solver: str, stages: tuple[StageReport, ...]) -> SolveResult:
    """The best plan under the name of whoever made it (``none``: nobody beat the incumbent)."""
    source = solver if best.source == solver else best.source.split("-")[0]
    source = "none" if source == "incumbent" else source
    return SolveResult(assignment=best.assignment, optimal=False, solver=source, stages=stages)


def solve_aco_after_greedy(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
) -> SolveResult:
    """The planner's ``--solver aco``: its incumbent is already at least greedy's, so the colony
    spends no time on greedy again."""
    return solve_aco(
        problem,
        incumbent,
        deadline=deadline,
        workers=workers,
        on_incumbent=on_incumbent,
        with_greedy=False,
    )
