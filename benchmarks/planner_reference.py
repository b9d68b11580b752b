"""Reference placements for the planner benchmark: what a long CP-SAT run finds, cached on disk.

"Better than the baseline" says nothing about how far a 1 s plan is from the best placement. The
reference is a long run (30 s by default) of a *plain* class-count model written here, apart from
the planner's solver so that a weakness of the planner's model (its symmetry breaking, its
disruption terms, its budget split) cannot hide in the reference too: one integer per class and
node, capacities, stays and disruption budgets, the priority tiers maximised highest first, then
the fewest disturbed pods for that placement (a lower bound on any plan's churn with the same
placed-by-priority vector, when proven). Problems with inter-pod rules or overcommitted nodes
get no reference (the plain model would not be exact there); the paper's grid has neither.

A run costs up to its seconds, so results are cached under ``~/.cache/scheduler-ext/reference/``,
keyed by the instance's content (its kubectl JSON form), the model's version and OR-Tools'
version: the same instance is solved once, whichever revision of the planner is measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

from ortools.sat.python import cp_model

from benchmarks.workloads_kubectl import to_kubectl_list
from scheduler_ext.domain import Cluster
from scheduler_ext.model.problem import Problem, build_problem

MODEL_VERSION = 2
"""Bump when the reference model changes: cached references of older versions are ignored."""

DISRUPTION_SHARE = 0.2
"""Of the run's time, kept for the disruption stage (the tiers take the rest, highest first)."""

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scheduler-ext/reference"


@dataclass(frozen=True)
class Reference:
    placed: dict[int, int]
    """Pods placed per priority (every pod of the cluster counted, immovable ones too)."""
    proven: bool
    """Every tier proven optimal: no plan can place more."""
    disturbed: int
    """The fewest disturbed running pods found for ``placed``."""
    disturbed_proven: bool
    seconds: float


def cache_key(cluster: Cluster, seconds: float) -> str:
    text = json.dumps(to_kubectl_list(cluster), sort_keys=True)
    tag = f"v{MODEL_VERSION}-ortools{version('ortools')}-{seconds:g}s"
    return f"{tag}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def reference(
    cluster: Cluster, seconds: float = 30.0, workers: int = 0, cache: Path = CACHE
) -> Reference | None:
    """The cached reference of ``cluster``, computed now if absent (None: no exact model)."""
    path = cache / f"{cache_key(cluster, seconds)}.json"
    if path.exists():
        data = json.loads(path.read_text())
        if data is None:
            return None
        data["placed"] = {int(p): k for p, k in data["placed"].items()}
        return Reference(**data)
    problem = build_problem(cluster)
    found = solve_reference(problem, seconds, workers) if _exact(problem) else None
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(found) if found else None))
    return found


def _exact(problem: Problem) -> bool:
    return not problem.has_interpod and not problem.strict_capacity


class _Plain:
    """The plain class-count model: x[c][n] pods of class c on node n, stays, capacities."""

    def __init__(self, problem: Problem) -> None:
        self.model = cp_model.CpModel()
        self.x: list[dict[int, cp_model.IntVar]] = []
        self.stays: list[list[cp_model.IntVar]] = []
        self.values: dict[int, int] = {}
        """The best solution so far, by variable index (first the current placement)."""
        load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
        for cls in problem.classes:
            running = cls.running_on()
            row = {}
            for node in cls.domain():
                upper = cls.count if node in cls.eligible_set else running.get(node, 0)
                row[node] = self.model.new_int_var(0, min(upper, cls.count), f"x{cls.index}_{node}")
                self.values[row[node].index] = running.get(node, 0)
                self.model.add_hint(row[node], running.get(node, 0))
                for d, amount in enumerate(cls.demand):
                    if amount:
                        load[node, d].append((row[node], amount))
            self.x.append(row)
            self.model.add(cp_model.LinearExpr.sum(list(row.values())) <= cls.count)
            stays = []
            for node, k in running.items():
                stay = self.model.new_int_var(0, k, f"s{cls.index}_{node}")
                self.model.add(stay <= row[node])
                self.values[stay.index] = k
                self.model.add_hint(stay, k)
                stays.append(stay)
            self.stays.append(stays)
        for (node, d), pairs in load.items():
            vars_, amounts = [p[0] for p in pairs], [p[1] for p in pairs]
            self.model.add(
                cp_model.LinearExpr.weighted_sum(vars_, amounts) <= problem.nodes[node].capacity[d]
            )
        for b, limit in enumerate(problem.budget_limits):
            members = [c.index for c in problem.classes if b in c.budgets]
            self.model.add(self.disturbed(problem, members) <= limit)
        if problem.max_disruptions is not None:
            self.model.add(self.disturbed(problem) <= problem.max_disruptions)

    def disturbed(self, problem: Problem, classes: list[int] | None = None) -> cp_model.LinearExpr:
        chosen = range(len(problem.classes)) if classes is None else classes
        held = sum(problem.classes[c].running_count for c in chosen)
        return held - cp_model.LinearExpr.sum([s for c in chosen for s in self.stays[c]])

    def maximise(self, variables: list[cp_model.IntVar], seconds: float, workers: int) -> bool:
        """Maximise the sum of ``variables``, then require at least the best sum found; whether
        the stage was proven. A solution replaces ``values`` (and the hint) only if its sum is
        larger: one that merely matches it may have dropped pods of later tiers."""
        self.model.maximize(cp_model.LinearExpr.sum(variables))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, seconds)
        solver.parameters.num_workers = workers
        code = solver.solve(self.model)
        found = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        if found and sum(int(solver.value(v)) for v in variables) > self.total(variables):
            self.values = {var.index: int(solver.value(var)) for var in self._all()}
            self.model.clear_hints()  # type: ignore[no-untyped-call]
            for var in self._all():
                self.model.add_hint(var, self.values[var.index])
        self.model.add(cp_model.LinearExpr.sum(variables) >= self.total(variables))
        return code == cp_model.OPTIMAL

    def _all(self) -> list[cp_model.IntVar]:
        return [v for row in self.x for v in row.values()] + [s for row in self.stays for s in row]

    def total(self, variables: list[cp_model.IntVar]) -> int:
        return sum(self.values[v.index] for v in variables)


def solve_reference(problem: Problem, seconds: float, workers: int = 0) -> Reference:
    """Tiers highest first, then the fewest disturbed pods; each stage gets a share of the time
    left (a proven stage returns early and leaves its time to the next)."""
    started = time.monotonic()
    deadline = started + seconds
    plain = _Plain(problem)
    tiers = sorted({c.priority for c in problem.classes}, reverse=True)
    tier_vars = {
        p: [v for c in problem.classes if c.priority == p for v in plain.x[c.index].values()]
        for p in tiers
    }
    proven = True
    reserve = seconds * DISRUPTION_SHARE
    for i, priority in enumerate(tiers):
        left = deadline - reserve - time.monotonic()
        share = left if i == len(tiers) - 1 else left / 2
        proven = plain.maximise(tier_vars[priority], share, workers) and proven
    stays = [s for row in plain.stays for s in row]  # the most kept: the fewest disturbed
    disturbed_proven = plain.maximise(stays, deadline - time.monotonic(), workers)
    disturbed = sum(c.running_count for c in problem.classes) - plain.total(stays)
    placed = dict(problem.fixed_by_priority)
    for pod, _reason in problem.unplanned:
        placed.setdefault(pod.priority, 0)
    for priority in tiers:
        placed[priority] = placed.get(priority, 0) + plain.total(tier_vars[priority])
    return Reference(
        placed=placed,
        proven=proven,
        disturbed=disturbed,
        disturbed_proven=disturbed_proven and proven,
        seconds=time.monotonic() - started,
    )
