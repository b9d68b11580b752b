"""One planning run: cluster -> problem -> best assignment within the budget -> PackingPlan.

The run keeps a single best assignment and only ever replaces it with a lexicographically better
one: first the current placement (doing nothing), then the greedy results, then whatever CP-SAT
reports. Whatever happens to a solver (time out, crash, a bug caught by the self-check), the plan
is at worst "do nothing", never a plan that loses pods.

The same function serves the command line, the extender service and the benchmarks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from scheduler_ext.domain import (
    BUILTIN_PRIORITY_CLASSES,
    Binding,
    Cluster,
    Move,
    PackingPlan,
    PlanStatus,
    TierCount,
    Unplanned,
)
from scheduler_ext.model.assignment import Assignment, current_assignment, evaluate, violations
from scheduler_ext.model.interpod_rules import landing_pods
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.portfolio import (
    FallbackChild,
    in_child,
    in_process,
    run_portfolio,
)
from scheduler_ext.planning.realize import realize
from scheduler_ext.solvers.base import SolveResult, StageReport
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.isolation import GRACE_SECONDS, SolveJob, SolverWorker, run_job

logger = logging.getLogger(__name__)

RESERVE_SECONDS = 0.05
RESERVE_SECONDS_PER_POD = 2e-6
"""Kept back from the budget for checking the assignment, turning it into a plan and writing it
(measured: about 0.3 s for 135,000 pods; 0.01-0.3 s at 2,048 pods under load 10)."""
BUILD_SHARE = 0.25
"""The same reserve, as a share of the problem build's seconds: turning an assignment into a plan
took 0.15x the build at 135,000 pods on a quiet machine, 0.1-1.5x at 2,048 pods under load 10-19."""
SERVICE_RESERVE_SECONDS = 0.01
"""``RESERVE_SECONDS`` in a warm process whose caller only needs the plan (the service): the last
child's result to ``make_plan``'s return took 0.001-0.011 s at 32-256 pods under load 8-9
(docs/benchmarks.md, "Issue 15, session 8"); nothing is written or torn down after it."""
SERVICE_LATE_SECONDS = 0.04
"""What the service path keeps back of the children's grace: their usual overshoot (a CP-SAT
stage ran 0.00-0.12 s past its limit, median about 0.03 s, under load 8-9). A later child still
gets its whole ``GRACE_SECONDS``, so the plan may come back that much past the budget, within
the issue's 0.2 s."""

Reserve = Literal["service", "command"]
"""What must fit in the budget: the plan (``service``), or the command's whole process, its
output written and the interpreter gone (``command``)."""


class _Best:
    """The best assignment so far: replaced only by a valid, lexicographically better one."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.assignment = current_assignment(problem)
        self.key = evaluate(problem, self.assignment).key
        self.solver = "none"
        self.optimal = False
        self.disruption_bound = 0
        self.stages: list[StageReport] = []

    def offer(self, result: SolveResult) -> None:
        self.stages.extend(result.stages)
        key = evaluate(self.problem, result.assignment).key
        wins = key > self.key or (key == self.key and result.optimal and not self.optimal)
        # Checked only when it would win: the check costs ~1 s at 5,000 nodes, and auto offers
        # several results.
        broken = violations(self.problem, result.assignment) if wins else []
        if broken:  # a solver bug must never become a plan
            logger.error("%s returned an invalid assignment: %s", result.solver, broken[:3])
            return
        if wins:
            self.assignment, self.key = result.assignment, key
            self.optimal, self.solver = result.optimal, result.solver
            self.disruption_bound = result.disruption_bound
        elif result.assignment == self.assignment:  # the same plan, bounded by a later stage
            self.disruption_bound = max(self.disruption_bound, result.disruption_bound)


def _search(
    problem: Problem,
    best: _Best,
    deadline: float,
    options: PlanOptions,
    method: str,
    worker: SolverWorker | None,
    isolate: bool,
) -> str:
    """CP-SAT on the whole cluster, or neighbourhood by neighbourhood; in a child process."""
    job = SolveJob(
        method=method,
        problem=problem.for_solver(),
        incumbent=best.assignment,
        deadline=deadline,
        workers=options.workers,
    )
    if not isolate:
        best.offer(run_job(job, None))
        return "done"
    own = worker is None
    worker = worker or SolverWorker()
    try:
        result, outcome = worker.run(job)
    finally:
        if own:
            worker.close()
    if result is not None:
        best.offer(result)
    return outcome


def _all_placed(problem: Problem, assignment: Assignment) -> bool:
    return all(
        sum(placed.values()) == cls.count
        for cls, placed in zip(problem.classes, assignment.counts(), strict=True)
    )


READING_SPENT_THE_BUDGET = "the time limit was spent reading the cluster; no search was run"
"""The plan's message when building the problem took the whole budget (a stalled machine)."""


def search_deadline(
    started: float, budget: float, pods: int, built: float = 0.0, reserve: Reserve = "command"
) -> float:
    """When the solvers stop: the plan is then turned out within ``started + budget``.

    A solver child is waited for until its deadline plus ``GRACE_SECONDS`` (then killed), and the
    result is checked and realized after that. For the command both are kept back from the
    budget, or its process ends that much late (measured: 0.2-0.4 s past a 5 s budget under load
    10). The service keeps back the warm realize and the children's usual overshoot only
    (``SERVICE_RESERVE_SECONDS``, ``SERVICE_LATE_SECONDS``): the whole grace cost its solvers
    0.1 s of every 1 s plan. Realizing takes longer where the build took long (a loaded
    machine): ``BUILD_SHARE`` of the build's seconds ``built`` is kept when that is more than
    the per-pod estimate."""
    command = reserve == "command"
    fixed = RESERVE_SECONDS if command else SERVICE_RESERVE_SECONDS
    after = max(fixed + RESERVE_SECONDS_PER_POD * pods, BUILD_SHARE * built)
    late = GRACE_SECONDS if command else SERVICE_LATE_SECONDS
    return started + max(budget - after - late, budget / 2)


def make_plan(
    cluster: Cluster,
    options: PlanOptions,
    *,
    started: float | None = None,
    worker: SolverWorker | None = None,
    isolate: bool = True,
    reserve: Reserve = "service",
) -> PackingPlan:
    """Plan within ``options.time_limit_seconds`` counted from ``started`` (monotonic).

    ``worker``, started early by the caller, saves the solver's import time; without one a
    child process is started here when a solver runs. ``isolate=False`` runs the solver in this
    process instead (tests and benchmarks: a crash inside CP-SAT then takes the caller down).
    ``reserve="command"``: the caller's whole process must end within the budget (the command
    line), so more is kept back (``search_deadline``).
    """
    started = time.monotonic() if started is None else started
    building = time.monotonic()
    problem = build_problem(
        cluster, policy=options.eviction_policy(), max_disruptions=options.max_disruptions
    )
    built = time.monotonic() - building
    deadline = search_deadline(
        started, options.time_limit_seconds, len(cluster.pods), built, reserve
    )
    best = _Best(problem)
    before = evaluate(problem, best.assignment)
    message = ""
    if _all_placed(problem, best.assignment) and before.disturbed == 0:
        best.optimal = True  # every pod already runs and nothing moves: nothing can beat it
    elif time.monotonic() >= deadline:
        message = READING_SPENT_THE_BUDGET
    else:
        message = search_within(problem, best, deadline, options, worker, isolate)
    return _to_plan(problem, best, before.placed, started, message, _class_names(cluster))


def search_within(
    problem: Problem,
    best: _Best,
    deadline: float,
    options: PlanOptions,
    worker: SolverWorker | None,
    isolate: bool,
) -> str:
    """Greedy, then the chosen search, into ``best``; returns the plan's message."""
    for strategy in ("spread", "pack"):
        best.offer(solve_greedy(problem, strategy=strategy, deadline=deadline))
    if options.solver == "greedy" or time.monotonic() >= deadline:
        return ""
    if options.solver == "auto":
        outcome = _portfolio(problem, best, deadline, options, worker, isolate)
    else:
        outcome = _search(problem, best, deadline, options, options.solver, worker, isolate)
        outcome = "" if outcome == "done" else f"search {outcome}"
    return f"{outcome}; the plan is the best found before that" if outcome else ""


def _portfolio(
    problem: Problem,
    best: _Best,
    deadline: float,
    options: PlanOptions,
    worker: SolverWorker | None,
    isolate: bool,
) -> str:
    if not isolate:
        return run_portfolio(
            problem, best, deadline, workers=options.workers, search=in_process, fallback=in_process
        )
    own = worker is None
    worker = worker or SolverWorker()
    # Started after greedy, not before: on a loaded machine its start-up took greedy's CPU (in
    # one 5,000-node 10 s run greedy placed 80 pods fewer); it overlaps with the one pass.
    first = FallbackChild(worker.start_method)
    try:
        return run_portfolio(
            problem,
            best,
            deadline,
            workers=options.workers,
            search=worker.run,
            fallback=in_child(worker.start_method),
            first=first,
        )
    finally:
        first.close()
        if own:
            worker.close()


def _class_names(cluster: Cluster) -> dict[int, tuple[str, ...]]:
    """Priority value -> the names of the PriorityClasses with that value."""
    names: dict[int, list[str]] = {}
    for pc in (*BUILTIN_PRIORITY_CLASSES.values(), *cluster.priority_classes):
        if pc.name not in names.get(pc.value, []):
            names.setdefault(pc.value, []).append(pc.name)
    return {value: tuple(sorted(found)) for value, found in names.items()}


def _to_plan(
    problem: Problem,
    best: _Best,
    before: tuple[int, ...],
    started: float,
    message: str,
    class_names: Mapping[int, tuple[str, ...]],
) -> PackingPlan:
    after = evaluate(problem, best.assignment)
    bindings, moves, evictions, left_pending = realize(problem, best.assignment)
    reasons = dict(problem.pending_reasons)
    tier_note = "not placed: no room at its priority" + (
        "" if best.optimal else " within the time limit"
    )
    unplanned = [Unplanned(pod=pod.key, reason=reason) for pod, reason in problem.unplanned]
    unplanned += [Unplanned(pod=p.key, reason=reasons.get(p.key, tier_note)) for p in left_pending]
    tiers = tuple(
        TierCount(priority=p, before=b, after=a, class_names=class_names.get(p, ()))
        for p, b, a in zip(problem.priorities, before, after.placed, strict=True)
    )
    status = PlanStatus(
        optimal=best.optimal,
        improves=after.placed > before,
        solver=best.solver,
        wall_seconds=time.monotonic() - started,
        placed_by_priority=tiers,
        message=message,
    )
    name = "plan-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return PackingPlan(
        name=name,
        bindings=tuple(bindings),
        moves=tuple(moves),
        evictions=tuple(evictions),
        unplanned=tuple(sorted(unplanned, key=lambda u: u.pod)),
        status=status,
        extra={
            "stages": [
                {
                    "name": s.name,
                    "status": s.status.value,
                    "seconds": round(s.seconds, 3),
                    **({"limitSeconds": round(s.limit, 3)} if s.limit is not None else {}),
                    **({"improved": True} if s.improved else {}),
                    **({"detail": s.detail} if s.detail else {}),
                }
                for s in best.stages
            ],
            **_disruption(after.disturbed, best),
            **({"immovable": dict(problem.kept)} if problem.kept else {}),
            **_landing_order(problem, best.assignment, bindings, moves),
        },
    )


def _disruption(disturbed: int, best: _Best) -> dict[str, object]:
    """How far the disturbed pods may be from the fewest possible for this placement: the solver's
    proven lower bound for plans placing at least as many pods per priority."""
    if disturbed == 0:
        return {}
    bound = disturbed if best.optimal else min(disturbed, best.disruption_bound)
    return {"disruption": {"disturbed": disturbed, "lowerBound": bound}}


def _landing_order(
    problem: Problem, assignment: Assignment, bindings: list[Binding], moves: list[Move]
) -> dict[str, object]:
    """The order inter-pod rules need the landings in, after every eviction
    (``model/interpod_rules.py``); the other landings may come at any time after the evictions."""
    if not problem.has_interpod:
        return {}
    landed = {b.pod: b.node for b in bindings} | {m.pod: m.to_node for m in moves}
    order = landing_pods(problem, assignment.counts(), landed)
    return {"landingOrder": {"evictionsFirst": True, "pods": order or []}}
