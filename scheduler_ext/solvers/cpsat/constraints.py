"""One function per constraint of the class-count model; each is tested alone on a tiny model."""

from __future__ import annotations

import itertools
from collections import defaultdict

from ortools.sat.python import cp_model

from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.cpsat.variables import ClassVariables


def add_class_totals(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """A class places at most its pods; the running pods left unplaced are evicted."""
    for cls in problem.classes:
        if not v.x[cls.index]:
            continue  # placed and evicted are constants
        inside = cp_model.LinearExpr.sum(list(v.x[cls.index].values()))
        model.add(v.placed[cls.index] == inside + sum(v.outside[cls.index].values()))
        model.add(v.evicted[cls.index] >= cls.running_count - v.placed[cls.index])


def add_stays(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """A running pod stays only if its class keeps at least that many pods on its node."""
    for cls in problem.classes:
        for node, stay in v.stay[cls.index].items():
            model.add(stay <= v.x[cls.index][node])


def add_capacity(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """Per node and resource, the classes' pods fit the room the immovable pods leave."""
    terms: list[dict[int, list[tuple[cp_model.IntVar, int]]]] = [
        defaultdict(list) for _ in problem.nodes
    ]
    for cls in problem.classes:
        for node, var in v.x[cls.index].items():
            for d, amount in enumerate(cls.demand):
                if amount:
                    terms[node][d].append((var, amount))
    for node, by_resource in enumerate(terms):
        capacity = problem.nodes[node].capacity
        for d, pairs in by_resource.items():
            # Skip rows that cannot bind: the variables' bounds already keep them.
            if sum(amount * v.x_upper[var.index] for var, amount in pairs) <= capacity[d]:
                continue
            model.add(
                cp_model.LinearExpr.weighted_sum([p[0] for p in pairs], [p[1] for p in pairs])
                <= capacity[d]
            )


def add_overcommitted(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """On a node its running pods already overcommit, a pod lands only if everything then there
    fits the allocatable (``Problem.strict_capacity``; kube-scheduler's NodeResourcesFit)."""
    for node, room in problem.strict_capacity:
        landed: list[tuple[cp_model.IntVar, int]] = []
        loads: dict[int, list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
        for cls in problem.classes:
            var = v.x[cls.index].get(node)
            if var is None:
                continue
            landed.append((var, 1))
            stay = v.stay[cls.index].get(node)
            if stay is not None:
                landed.append((stay, -1))
            for d, amount in enumerate(cls.demand):
                if amount:
                    loads[d].append((var, amount))
        if not landed:
            continue
        lands = model.new_bool_var(f"lands_{node}")
        model.add(_weighted(landed) <= 0).only_enforce_if(~lands)
        for d, pairs in loads.items():
            model.add(_weighted(pairs) <= room[d]).only_enforce_if(lands)


def _weighted(pairs: list[tuple[cp_model.IntVar, int]]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.weighted_sum([p[0] for p in pairs], [p[1] for p in pairs])


def binding_budgets(problem: Problem) -> dict[int, list[int]]:
    """Budgets that could bind (they allow fewer disruptions than they cover pods), by index."""
    members: dict[int, list[int]] = defaultdict(list)
    for cls in problem.classes:
        for b in cls.budgets:
            members[b].append(cls.index)
    return {
        b: classes
        for b, classes in members.items()
        if problem.budget_limits[b] < sum(problem.classes[c].running_count for c in classes)
    }


def add_budgets(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """Each PodDisruptionBudget: at most disruptionsAllowed of its pods moved or evicted."""
    for b, classes in binding_budgets(problem).items():
        model.add(v.disturbed(problem, classes) <= problem.budget_limits[b])


def identical_node_groups(problem: Problem, v: ClassVariables) -> list[list[int]]:
    """Nodes that every class sees alike: same room and the same variable bounds."""
    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    columns: list[list[tuple[int, int]]] = [[] for _ in problem.nodes]
    for cls in problem.classes:
        for node, var in v.x[cls.index].items():
            columns[node].append((cls.index, v.x_upper[var.index]))
    in_scope = {node for row in v.x for node in row}
    for slot in problem.nodes:
        if slot.index in in_scope:
            groups[(slot.capacity, tuple(columns[slot.index]))].append(slot.index)
    return [nodes for nodes in groups.values() if len(nodes) > 1]


def symmetry_weights(problem: Problem) -> list[int]:
    """A scalar size per class, used to order the loads of identical nodes."""
    return [sum(cls.demand) for cls in problem.classes]


def add_symmetry_breaking(
    model: cp_model.CpModel,
    problem: Problem,
    v: ClassVariables,
    groups: list[list[int]],
    enforce: cp_model.IntVar,
) -> None:
    """Identical nodes hold non-increasing loads, while ``enforce`` is true.

    Only valid where nothing but counts matters (the tier stages, when no disruption budget or
    cap can bind): there any solution can be permuted across identical nodes to satisfy it.
    """
    weights = symmetry_weights(problem)
    loads: dict[int, list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    for cls in problem.classes:
        for node, var in v.x[cls.index].items():
            loads[node].append((var, weights[cls.index]))
    for group in groups:
        for first, second in itertools.pairwise(group):
            left = cp_model.LinearExpr.weighted_sum(
                [p[0] for p in loads[first]], [p[1] for p in loads[first]]
            )
            right = cp_model.LinearExpr.weighted_sum(
                [p[0] for p in loads[second]], [p[1] for p in loads[second]]
            )
            model.add(left >= right).only_enforce_if(enforce)


def add_max_disruptions(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """The operator's cap on running pods moved or evicted in all."""
    if problem.max_disruptions is not None:
        model.add(v.disturbed(problem) <= problem.max_disruptions)
