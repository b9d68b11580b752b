"""A solution of the packing problem, its lexicographic score, and a self-check.

An assignment says, per pod class, how many of its pods end on each node. Running pods of a class
stay where they are as far as the counts allow (pods of a class are interchangeable), so from the
counts alone follow the disturbed pods (running pods that do not stay) and the evictions (running
pods left without any home: ``running - placed`` when positive).

``violations`` is the self-check every solver's result passes before it may become a plan; with
inter-pod rules it includes the final-state rules and the existence of a landing order
(``model/interpod_rules.py``).

The score is the product's definition of "better", in one comparable tuple: pods placed per
priority, highest priority first, then fewer disturbed running pods, then fewer evictions. Every
solver compares candidates with it, so none can disagree with another about what is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.interpod_rules import final_violations, landing_order
from scheduler_ext.model.problem import Problem

Placement = tuple[tuple[tuple[int, int], ...], ...]
"""Per class, sorted (node index, count) pairs with count > 0."""


@dataclass(frozen=True)
class Assignment:
    placement: Placement

    @classmethod
    def from_counts(cls, counts: Sequence[Mapping[int, int]]) -> Assignment:
        return cls(tuple(tuple(sorted((n, k) for n, k in c.items() if k > 0)) for c in counts))

    def counts(self) -> list[dict[int, int]]:
        return [dict(pairs) for pairs in self.placement]


@dataclass(frozen=True)
class Evaluation:
    placed: tuple[int, ...]
    """Pods placed per priority, in ``Problem.priorities`` order (highest first)."""
    disturbed: int
    evictions: int

    @property
    def key(self) -> tuple[int, ...]:
        return (*self.placed, -self.disturbed, -self.evictions)


def current_assignment(problem: Problem) -> Assignment:
    """Doing nothing: running pods stay, pending pods stay pending."""
    return Assignment.from_counts([cls.running_on() for cls in problem.classes])


def class_disruption(problem: Problem, counts: Sequence[Mapping[int, int]]) -> list[int]:
    """Disturbed running pods per class."""
    disturbed = []
    for cls, placed in zip(problem.classes, counts, strict=True):
        stays = sum(min(placed.get(node, 0), k) for node, k in cls.running_on().items())
        disturbed.append(cls.running_count - stays)
    return disturbed


def evaluate(problem: Problem, assignment: Assignment) -> Evaluation:
    counts = assignment.counts()
    by_priority = dict(problem.fixed_by_priority)
    evictions = 0
    for cls, placed in zip(problem.classes, counts, strict=True):
        total = sum(placed.values())
        by_priority[cls.priority] = by_priority.get(cls.priority, 0) + total
        evictions += max(0, cls.running_count - total)
    disturbed = sum(class_disruption(problem, counts))
    placed_vector = tuple(by_priority.get(p, 0) for p in problem.priorities)
    return Evaluation(placed=placed_vector, disturbed=disturbed, evictions=evictions)


def node_load(problem: Problem, counts: Sequence[Mapping[int, int]]) -> npt.NDArray[np.int64]:
    """Node x resource amounts the classes' pods take under ``counts``."""
    load = np.zeros_like(problem.capacity_matrix)
    for cls, placed in zip(problem.classes, counts, strict=True):
        if placed:
            nodes = np.fromiter(placed.keys(), dtype=np.intp, count=len(placed))
            amounts = np.fromiter(placed.values(), dtype=np.int64, count=len(placed))
            np.add.at(load, nodes, amounts[:, None] * np.array(cls.demand, dtype=np.int64))
    return load


def violations(problem: Problem, assignment: Assignment) -> list[str]:
    """Every way the assignment breaks the model; empty when it is a valid plan."""
    found: list[str] = []
    counts = assignment.counts()
    if len(counts) != len(problem.classes):
        return [f"assignment has {len(counts)} classes, problem {len(problem.classes)}"]
    for cls, placed in zip(problem.classes, counts, strict=True):
        if sum(placed.values()) > cls.count:
            found.append(f"class {cls.index}: {sum(placed.values())} placed of {cls.count}")
        running = cls.running_on()
        for node, k in placed.items():
            if node not in cls.eligible_set and k > running.get(node, 0):
                found.append(f"class {cls.index}: {k} pods on ineligible node {node}")
    load = node_load(problem, counts)
    capacity = problem.capacity_matrix
    for node, d in zip(*np.nonzero(load > capacity), strict=True):
        found.append(
            f"node {problem.nodes[node].name}: {problem.resources[d]} "
            f"{load[node, d]} > {capacity[node, d]}"
        )
    found += _overcommitted(problem, counts, load)
    disturbed = class_disruption(problem, counts)
    for b, limit in enumerate(problem.budget_limits):
        used = sum(k for cls, k in zip(problem.classes, disturbed, strict=True) if b in cls.budgets)
        if used > limit:
            found.append(f"budget {problem.budget_names[b]}: {used} disrupted > {limit} allowed")
    if problem.max_disruptions is not None and sum(disturbed) > problem.max_disruptions:
        found.append(f"{sum(disturbed)} disrupted > max {problem.max_disruptions}")
    return found + interpod_violations(problem, counts)


def _overcommitted(
    problem: Problem, counts: Sequence[Mapping[int, int]], load: npt.NDArray[np.int64]
) -> list[str]:
    """A node its running pods overcommit takes a landing pod only within its allocatable."""
    found = []
    for node, room in problem.strict_capacity:
        lands = any(
            k > cls.running_on().get(node, 0)
            for cls, placed in zip(problem.classes, counts, strict=True)
            for n, k in placed.items()
            if n == node
        )
        if lands and any(int(a) > r for a, r in zip(load[node], room, strict=True)):
            found.append(f"node {problem.nodes[node].name}: a pod lands while it is overcommitted")
    return found


def interpod_violations(problem: Problem, counts: Sequence[Mapping[int, int]]) -> list[str]:
    """The inter-pod rules ``counts`` breaks, or that no landing order passes kube-scheduler's
    filters (``model/interpod_rules.py``); empty for problems without inter-pod rules."""
    if not problem.has_interpod:
        return []
    found = final_violations(problem, counts)
    if not found and landing_order(problem, counts) is None:
        found.append("no landing order passes kube-scheduler's inter-pod filters")
    return found
