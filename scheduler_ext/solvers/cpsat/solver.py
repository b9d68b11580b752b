"""Lexicographic CP-SAT over priority tiers, then the fewest disruptions, always from an incumbent.

One model is built once; each stage changes only its objective and adds the constraint that fixes
the stage's result. Stages:

1. For each priority, highest first, maximise the pods placed at that priority. A tier the
   incumbent already places completely is optimal without a solve. A proven result is fixed with
   ``==``; an unproven one with ``>=`` the incumbent's value, and the plan is no longer optimal.
2. Minimise disturbed running pods, then evictions, as one weighted objective
   (``(R + 1) * disturbed + evicted`` with R the movable running pods, which is lexicographic).

The incumbent is the best full solution seen so far (the current placement, the greedy result, each
stage's solution); it satisfies every constraint added so far, is the hint of every stage, and is
replaced only by a lexicographically better solution. So a stage that runs out of time can never
make the plan worse than doing nothing. ``on_incumbent`` reports each improvement as it happens,
which lets a parent process keep the best plan even if this one is killed at the deadline.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection
from dataclasses import replace

import numpy as np
from ortools.sat.python import cp_model

from scheduler_ext.model.assignment import Assignment, evaluate, interpod_violations
from scheduler_ext.model.interpod_state import inexact_groups
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.base import SolveResult, StageReport, StageStatus
from scheduler_ext.solvers.cpsat import churn, constraints, interpod
from scheduler_ext.solvers.cpsat.symmetry import least_disturbing, symmetric_hint
from scheduler_ext.solvers.cpsat.variables import ClassVariables, new_variables

logger = logging.getLogger(__name__)

IncumbentCallback = Callable[[SolveResult], None]
_Fixing = cp_model.BoundedLinearExpression | bool | np.bool_

SYMMETRY_BREAKING = False
"""Order identical nodes by load in the tier stages (where it is valid). Off: on the paper's
8-node instances (16 of them, 0.85 s each) the tier stages without it left 27 pods short of the
reference placements in all, with it 34 (the loads' weights are bytes of memory); identical nodes
are still used to give solutions back to where their pods run (``symmetry.least_disturbing``)."""
TIER_SHARE = 0.5
"""Share of the tiers' time a tier other than the last may take; unused time flows on."""
DISRUPTION_SHARE = 0.2
"""Share of the time left when the tier stages start that is kept for the disruption stage."""
CHURN_SECONDS = 0.03
"""``churn.fewer_disturbed`` may run this long past the deadline: 0.1-53 ms per 1 s plan at 8-32
nodes (docs/benchmarks.md, "Issue 15, session 8"), and the last tier stage often overruns its
limit under load, which left a plan with all its needless moves."""
RESUME_SECONDS = 0.05
"""Time left after the disruption stage above which an unproven tier is solved again."""

_STATUS = {
    cp_model.OPTIMAL: StageStatus.OPTIMAL,
    cp_model.FEASIBLE: StageStatus.FEASIBLE,
    cp_model.INFEASIBLE: StageStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: StageStatus.INVALID,
    cp_model.UNKNOWN: StageStatus.UNKNOWN,
}


def build_model(
    problem: Problem,
    scope: Collection[int] | None = None,
    incumbent: Assignment | None = None,
    entrants: Collection[int] | None = None,
) -> tuple[cp_model.CpModel, ClassVariables]:
    model = cp_model.CpModel()
    variables = new_variables(model, problem, scope, incumbent, entrants)
    constraints.add_class_totals(model, problem, variables)
    constraints.add_stays(model, problem, variables)
    constraints.add_capacity(model, problem, variables)
    constraints.add_budgets(model, problem, variables)
    constraints.add_max_disruptions(model, problem, variables)
    constraints.add_overcommitted(model, problem, variables)
    if problem.has_interpod:
        interpod.add_anti_affinity(model, problem, variables)
        interpod.add_spread(model, problem, variables)
        interpod.add_affinity(model, problem, variables)
        interpod.add_never_preemption(model, problem, variables)
    return model, variables


def _set_fixed(model: cp_model.CpModel, var: cp_model.IntVar, value: int) -> None:
    domain = model.proto.variables[var.index].domain
    domain[0] = value
    domain[1] = value


class _Run:
    """The state of one staged solve: model, incumbent and what has been proven."""

    def __init__(
        self,
        problem: Problem,
        incumbent: Assignment,
        deadline: float,
        workers: int,
        on_incumbent: IncumbentCallback | None,
        scope: Collection[int] | None = None,
        entrants: Collection[int] | None = None,
    ) -> None:
        self.problem = problem
        self.deadline = deadline
        self.workers = workers
        self.on_incumbent = on_incumbent
        self.incumbent = incumbent
        self.incumbent_key = evaluate(problem, incumbent).key
        self.proven = not problem.inexact
        """False once something other than the stages' own proofs rules a proof out."""
        self.open_tiers: set[int] = set()
        """Priorities whose tier stage ended without a proof."""
        self.disruption_open = False
        self.disruption_bound = 0
        """Lower bound on the incumbent's disturbed pods for its tiers (``SolveResult``)."""
        self.finished = False
        """Every stage has run: until then a result is never optimal."""
        self.fixes: dict[int, cp_model.Constraint] = {}
        self.rejected = False
        """A stage was infeasible or invalid (a model bug): solving again would not help."""
        self.plans = True
        self.stages: list[StageReport] = []
        self.churn = churn.applies(problem)
        """Solutions get their needless moves undone (``churn``)."""
        self.whole = scope is None
        """The whole cluster's model: its solutions get ``churn.fewer_disturbed``; a
        neighbourhood's round only the single steps back (its rounds last 0.1 s)."""
        self.model, self.vars = build_model(problem, scope, incumbent, entrants)
        self.symmetry: cp_model.IntVar | None = None
        self.groups: list[list[int]] = []
        # Symmetry breaking permutes identical nodes' contents, which is only valid while nothing
        # but counts matters: no budget or cap binds, and no inter-pod rule looks at domains or
        # at which pods stay.
        if (
            problem.max_disruptions is None
            and not constraints.binding_budgets(problem)
            and not problem.has_interpod
        ):
            self.groups = constraints.identical_node_groups(problem, self.vars)
        if self.groups and SYMMETRY_BREAKING:
            self.symmetry = self.model.new_bool_var("symmetry_breaking")
            constraints.add_symmetry_breaking(
                self.model, problem, self.vars, self.groups, self.symmetry
            )
            self.weights = constraints.symmetry_weights(problem)

    def result(self) -> SolveResult:
        return SolveResult(
            assignment=self.incumbent,
            optimal=self.finished and self.proven,
            solver="cpsat",
            stages=tuple(self.stages),
            disruption_bound=self.disruption_bound,
        )

    def offer(self, candidate: Assignment) -> bool:
        """Take ``candidate`` if it is better; False if it was refused as no plan."""
        key = evaluate(self.problem, candidate).key
        if key <= self.incumbent_key:
            return True
        broken = interpod_violations(self.problem, candidate.counts()) if self.plans else []
        if broken:  # the model's rules hold, but no landing order was found: not a plan
            logger.info("cpsat solution without a landing order: %s", broken[:1])
            self.proven = False
            return False
        self.incumbent, self.incumbent_key = candidate, key
        return True

    def fix(self, priority: int, constraint: _Fixing, proven: bool) -> None:
        """Fix a tier's result for the later stages (replacing an earlier fix of it)."""
        self.release([priority])
        self.fixes[priority] = self.model.add(constraint)
        if proven:
            self.open_tiers.discard(priority)
        else:
            self.open_tiers.add(priority)

    def release(self, priorities: Collection[int]) -> None:
        """Drop the fixes of these tiers: a higher tier is solved again, they depend on it."""
        for priority in priorities:
            fixed = self.fixes.pop(priority, None)
            if fixed is not None:
                self.model.proto.constraints[fixed.index].clear_linear()

    def publish(self) -> None:
        if self.on_incumbent is not None:
            self.on_incumbent(self.result())

    def solve_stage(
        self, name: str, objective: cp_model.LinearExprT, maximize: bool, seconds: float
    ) -> tuple[StageStatus, int | None, cp_model.CpSolver]:
        started = time.monotonic()
        if maximize:
            self.model.maximize(objective)
        else:
            self.model.minimize(objective)
        hint = self.incumbent
        if self.symmetry is not None:
            _set_fixed(self.model, self.symmetry, 1 if maximize else 0)
            if maximize:
                hint = symmetric_hint(self.problem, hint, self.groups, self.weights)
        self.vars.hint(self.model, self.problem, hint)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = self.workers
        solver.parameters.relative_gap_limit = 0.0
        code = solver.solve(self.model)
        status = _STATUS.get(code, StageStatus.UNKNOWN)
        self.rejected |= status in (StageStatus.INFEASIBLE, StageStatus.INVALID)
        value = None
        before = self.incumbent_key
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            value = round(solver.objective_value)
            found = self.vars.extract(solver)
            if maximize and self.groups:
                found = least_disturbing(self.problem, found, self.groups)
            if self.churn:
                found = self.undo_needless(found)
            if not self.offer(found) and status == StageStatus.OPTIMAL:
                status = StageStatus.FEASIBLE  # its optimum is no plan: fix only the incumbent's
        self.stages.append(
            StageReport(
                name=name,
                status=status,
                seconds=time.monotonic() - started,
                value=value,
                bound=round(solver.best_objective_bound) if value is not None else None,
                limit=seconds,
                improved=self.incumbent_key > before,
            )
        )
        return status, value, solver

    def undo_needless(self, found: Assignment) -> Assignment:
        if self.whole:
            # A stage that overran its limit (under load) still gets its moves undone.
            until = max(self.deadline, time.monotonic() + CHURN_SECONDS)
            return churn.fewer_disturbed(self.problem, found, deadline=until)
        return churn.return_moved(self.problem, found)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def solve_cpsat(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
    scope: Collection[int] | None = None,
    entrants: Collection[int] | None = None,
    search_seconds: float | None = None,
    plans: bool = True,
) -> SolveResult:
    """Improve ``incumbent`` lexicographically until proven optimal or ``deadline`` (monotonic).

    With ``scope``, only the counts on those nodes may change, and ``optimal`` means optimal
    within that neighbourhood only; ``entrants`` limits which classes may add pods to it.
    ``search_seconds`` caps the search after the model is built (building a neighbourhood's
    model costs time proportional to the whole cluster's classes). ``plans=False`` skips the
    inter-pod self-check of each solution (a certificate's relaxed model bounds, it plans nothing).
    """
    run = _Run(problem, incumbent, deadline, workers, on_incumbent, scope, entrants)
    run.plans = plans
    if search_seconds is not None:  # the search's own time starts once the model is built
        run.deadline = min(deadline, time.monotonic() + search_seconds)
    if run.churn:  # the incumbent (greedy's preemptions, an earlier search) may move needlessly
        run.offer(run.undo_needless(incumbent))
    tiers = [p for p in problem.priorities if any(c.priority == p for c in problem.classes)]
    _solve_tiers(run, tiers, 0)
    _minimise_disruption(run)
    # Time the tiers did not need was kept for the disruption stage; what that stage leaves goes
    # back to the first unproven tier (and the tiers after it, whose results depended on it).
    while run.open_tiers and run.remaining() > RESUME_SECONDS and not run.rejected:
        first = min(tiers.index(p) for p in run.open_tiers)
        run.release(tiers[first + 1 :])
        before = run.incumbent_key
        _solve_tiers(run, tiers, first)
        if run.incumbent_key > before or run.disruption_open:
            _minimise_disruption(run)
    run.proven = run.proven and not run.open_tiers and not run.disruption_open
    run.finished = True
    if run.proven and scope is None and plans and problem.has_interpod:
        _certify(run, deadline, workers)
    run.publish()
    logger.debug("cpsat stages: %s", run.stages)
    return run.result()


def _solve_tiers(run: _Run, tiers: list[int], first: int) -> None:
    """Maximise each tier from ``tiers[first]`` on, fixing each result for the next."""
    problem = run.problem
    tier_position = {p: i for i, p in enumerate(problem.priorities)}
    # Kept back for the disruption stage: a tier's gain usually costs moves to be minimised.
    reserve = run.remaining() * DISRUPTION_SHARE
    for i in range(first, len(tiers)):
        priority = tiers[i]
        expr = run.vars.tier_count(problem, priority)
        total = sum(c.count for c in problem.classes if c.priority == priority)
        fixed = dict(problem.fixed_by_priority).get(priority, 0)
        have = run.incumbent_key[tier_position[priority]] - fixed
        if not any(run.vars.x[c.index] for c in problem.classes if c.priority == priority):
            continue  # nothing at this priority can change in this model
        if have >= total:
            run.fix(priority, expr == total, proven=True)
            continue
        available = run.remaining() - reserve
        if available <= 0.02:
            run.fix(priority, expr >= have, proven=False)
            continue
        # Later tiers still need time; unused time flows on.
        share = available if i == len(tiers) - 1 else available * TIER_SHARE
        status, _value, _ = run.solve_stage(f"tier {priority}", expr, True, share)
        best = run.incumbent_key[tier_position[priority]] - fixed
        if status == StageStatus.OPTIMAL:
            run.fix(priority, expr == best, proven=True)
        else:
            run.fix(priority, expr >= best, proven=False)
        run.publish()


def _minimise_disruption(run: _Run) -> None:
    """The fewest disturbed running pods for the fixed tiers, then the fewest evictions."""
    problem = run.problem
    run.disruption_bound = 0
    if evaluate(problem, run.incumbent).disturbed == 0:
        run.disruption_open = False
        return
    if run.remaining() <= 0.02:
        run.disruption_open = True
        return
    weight = sum(c.running_count for c in problem.classes) + 1
    evicted = cp_model.LinearExpr.sum(run.vars.evicted)
    objective = cp_model.LinearExpr.weighted_sum(
        [run.vars.disturbed(problem), evicted], [weight, 1]
    )
    status, _, solver = run.solve_stage("disruption", objective, False, run.remaining())
    run.disruption_open = status != StageStatus.OPTIMAL
    if status in (StageStatus.OPTIMAL, StageStatus.FEASIBLE):
        # weight * disturbed + evicted >= bound with evicted < weight: disturbed >= bound // weight
        run.disruption_bound = max(0, math.floor(solver.best_objective_bound)) // weight
    # Reported at once: a child killed at its deadline (late under load) keeps the fewer moves.
    run.publish()


def relaxed(problem: Problem) -> Problem | None:
    """``problem`` with only necessary rules where its rule may be stricter than kube-scheduler
    (None when there is no such group): every real plan is one of its solutions."""
    spread, affinity = inexact_groups(problem)
    if not spread and not affinity:
        return None
    return replace(
        problem,
        spread=tuple(
            replace(g, necessary_only=True) if i in spread else g
            for i, g in enumerate(problem.spread)
        ),
        affinity=tuple(g for i, g in enumerate(problem.affinity) if i not in affinity),
    )


def _certify(run: _Run, deadline: float, workers: int) -> None:
    """Where the model kept a rule stricter than kube-scheduler could be, its optimum is a proof
    only if the model without those rules (a relaxation) finds nothing better."""
    looser = relaxed(run.problem)
    if looser is None:
        return
    started = time.monotonic()
    check = solve_cpsat(looser, run.incumbent, deadline=deadline, workers=workers, plans=False)
    run.proven = check.optimal and evaluate(looser, check.assignment).key == run.incumbent_key
    run.stages.append(
        StageReport(
            name="certificate",
            status=StageStatus.OPTIMAL if run.proven else StageStatus.FEASIBLE,
            seconds=time.monotonic() - started,
            detail="the optimum holds without the rules kept stricter than kube-scheduler",
        )
    )
