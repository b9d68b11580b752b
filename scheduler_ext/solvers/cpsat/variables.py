"""The CP-SAT variables of the class-count model, kept in one container.

``x[c][n]`` is how many pods of class ``c`` end on node ``n`` (only for nodes of its domain),
``stay[c][n]`` how many of the class's running pods on ``n`` stay there (at most ``x`` and at most
the running count), ``placed[c]`` their sum over nodes and ``evicted[c]`` the running pods left
without a home. Everything else (tier counts, disruption) is a linear expression over these.

A model may cover only a *scope*, a subset of the nodes (a neighbourhood): the counts on the other
nodes are then constants taken from the incumbent, so the same staged solver improves one corner of
a large cluster at a time and every solution it returns is still a whole-cluster assignment.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import PodClass, Problem


@dataclass
class ClassVariables:
    x: list[dict[int, cp_model.IntVar]]
    stay: list[dict[int, cp_model.IntVar]]
    placed: list[cp_model.IntVar | int]
    """Constant for a class with no variable in the scope."""
    evicted: list[cp_model.IntVar | int]
    outside: list[dict[int, int]]
    """Per class, the fixed counts on nodes outside the scope."""
    outside_stays: list[int]
    """Per class, running pods outside the scope that stay (fixed)."""
    x_upper: dict[int, int] = field(default_factory=dict)
    """Upper bound of each ``x`` variable, by its index: reading it back from OR-Tools (``proto``)
    took half of the model build at 32 nodes x 8 pods (0.37 of 0.71 s under load)."""

    def tier_count(self, problem: Problem, priority: int) -> cp_model.LinearExprT:
        return cp_model.LinearExpr.sum(
            [self.placed[c.index] for c in problem.classes if c.priority == priority]
        )

    def disturbed(self, problem: Problem, classes: list[int] | None = None) -> cp_model.LinearExprT:
        """Running pods that do not stay: a constant minus the stays."""
        chosen = range(len(problem.classes)) if classes is None else classes
        running = sum(problem.classes[c].running_count - self.outside_stays[c] for c in chosen)
        stays = [v for c in chosen for v in self.stay[c].values()]
        return running - cp_model.LinearExpr.sum(stays)

    def hint(self, model: cp_model.CpModel, problem: Problem, assignment: Assignment) -> None:
        model.clear_hints()  # type: ignore[no-untyped-call]
        for cls, placed in zip(problem.classes, assignment.counts(), strict=True):
            for node, var in self.x[cls.index].items():
                model.add_hint(var, placed.get(node, 0))
            running = cls.running_on()
            for node, var in self.stay[cls.index].items():
                model.add_hint(var, min(placed.get(node, 0), running[node]))
            total = sum(placed.values())
            placed_var, evicted_var = self.placed[cls.index], self.evicted[cls.index]
            if not isinstance(placed_var, int):
                model.add_hint(placed_var, total)
            if not isinstance(evicted_var, int):
                model.add_hint(evicted_var, max(0, cls.running_count - total))

    def extract(self, solver: cp_model.CpSolver) -> Assignment:
        counts = [dict(fixed) for fixed in self.outside]
        for c, row in enumerate(self.x):
            for node, var in row.items():
                counts[c][node] = int(solver.value(var))
        return Assignment.from_counts(counts)


def new_variables(
    model: cp_model.CpModel,
    problem: Problem,
    scope: Collection[int] | None = None,
    incumbent: Assignment | None = None,
    entrants: Collection[int] | None = None,
) -> ClassVariables:
    """Variables for every node, or only for ``scope`` with the rest fixed as in ``incumbent``.

    With ``entrants``, only those classes may place more pods than the scope already holds of
    them: the others can only be rearranged, which keeps a neighbourhood's model small.
    """
    inside = set(range(len(problem.nodes))) if scope is None else set(scope)
    fixed_counts = [{} for _ in problem.classes] if incumbent is None else incumbent.counts()
    x: list[dict[int, cp_model.IntVar]] = []
    stay: list[dict[int, cp_model.IntVar]] = []
    placed: list[cp_model.IntVar | int] = []
    evicted: list[cp_model.IntVar | int] = []
    outside: list[dict[int, int]] = []
    outside_stays: list[int] = []
    x_upper: dict[int, int] = {}
    for cls in problem.classes:
        running = cls.running_on()
        fixed = {n: k for n, k in fixed_counts[cls.index].items() if n not in inside}
        outside.append(fixed)
        outside_stays.append(
            sum(min(fixed.get(n, 0), k) for n, k in running.items() if n not in inside)
        )
        base = sum(fixed.values())
        room_left = cls.count - base
        if entrants is not None and cls.index not in entrants:
            room_left = min(room_left, sum(fixed_counts[cls.index].values()) - base)
        row: dict[int, cp_model.IntVar] = {}
        candidates = cls.domain() if scope is None else _in_scope(cls, inside)
        for node in candidates if room_left > 0 else ():
            # On a node it no longer passes the filters for, a class only keeps its own pods.
            eligible = node in cls.eligible_set
            upper = room_left if eligible else min(room_left, running.get(node, 0))
            upper = min(upper, _room(problem, cls.demand, node))
            if upper > 0 or node in running:
                row[node] = model.new_int_var(0, max(upper, 0), f"x_{cls.index}_{node}")
                x_upper[row[node].index] = max(upper, 0)
        x.append(row)
        stay.append(
            {
                node: model.new_int_var(0, k, f"stay_{cls.index}_{node}")
                for node, k in running.items()
                if node in row
            }
        )
        if row:
            placed.append(model.new_int_var(base, cls.count, f"placed_{cls.index}"))
            evicted.append(model.new_int_var(0, cls.running_count, f"evicted_{cls.index}"))
        else:  # nothing of this class can change here
            placed.append(base)
            evicted.append(max(0, cls.running_count - base))
    return ClassVariables(
        x=x,
        stay=stay,
        placed=placed,
        evicted=evicted,
        outside=outside,
        outside_stays=outside_stays,
        x_upper=x_upper,
    )


def _in_scope(cls: PodClass, inside: set[int]) -> list[int]:
    running = cls.running_on()
    return sorted(n for n in inside if n in cls.eligible_set or n in running)


def _room(problem: Problem, demand: tuple[int, ...], node: int) -> int:
    """How many pods of this demand the node could hold alone: a cheap bound on x."""
    capacity = problem.nodes[node].capacity
    fits = [capacity[d] // amount for d, amount in enumerate(demand) if amount > 0]
    return max(0, min(fits)) if fits else 0
