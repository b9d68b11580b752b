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

MODEL_VERSION = 1
"""Bump when the reference model changes: cached references of older versions are ignored."""

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
        self.hint_values: dict[int, int] = {}
        load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
        for cls in problem.classes:
            running = cls.running_on()
            row = {}
            for node in cls.domain():
                upper = cls.count if node in cls.eligible_set else running.get(node, 0)
                row[node] = self.model.new_int_var(0, min(upper, cls.count), f"x{cls.index}_{node}")
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

    def solve(self, seconds: float, workers: int) -> tuple[int, bool, dict[int, int]]:
        """Objective value, whether proven, and the solution as the next stage's hint."""
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, seconds)
        solver.parameters.num_workers = workers
        code = solver.solve(self.model)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise RuntimeError(
                f"reference model: {solver.status_name(code)} (the hint is a solution)"
            )
        values = {var.index: int(solver.value(var)) for row in self.x for var in row.values()} | {
            s.index: int(solver.value(s)) for row in self.stays for s in row
        }
        return round(solver.objective_value), code == cp_model.OPTIMAL, values

    def rehint(self, values: dict[int, int]) -> None:
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for row in self.x:
            for var in row.values():
                self.model.add_hint(var, values[var.index])
        for stays in self.stays:
            for var in stays:
                self.model.add_hint(var, values[var.index])


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
    for i, priority in enumerate(tiers):
        expr = cp_model.LinearExpr.sum(tier_vars[priority])
        plain.model.maximize(expr)
        share = (deadline - time.monotonic()) * (0.8 if i == len(tiers) - 1 else 0.5)
        value, optimal, values = plain.solve(share, workers)
        proven = proven and optimal
        plain.model.add(expr >= value)
        plain.rehint(values)
    plain.model.minimize(plain.disturbed(problem))
    disturbed, disturbed_proven, values = plain.solve(deadline - time.monotonic(), workers)
    placed = dict(problem.fixed_by_priority)
    for pod, _reason in problem.unplanned:
        placed.setdefault(pod.priority, 0)
    for priority in tiers:
        placed[priority] = placed.get(priority, 0) + sum(
            values[v.index] for v in tier_vars[priority]
        )
    return Reference(
        placed=placed,
        proven=proven,
        disturbed=disturbed,
        disturbed_proven=disturbed_proven and proven,
        seconds=time.monotonic() - started,
    )
