"""Hand-built packing problems for the solver and constraint tests (no Kubernetes objects)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scheduler_ext.domain import Pod
from scheduler_ext.model.problem import ClassMembers, NodeSlot, PodClass, Problem


@dataclass
class ClassSpec:
    priority: int
    demand: Mapping[str, int]
    pending: int = 0
    running: Mapping[int, int] = field(default_factory=dict)
    eligible: Sequence[int] | None = None  # None: every node
    budgets: Sequence[int] = ()


def tiny_problem(
    nodes: Sequence[Mapping[str, int]],
    classes: Sequence[ClassSpec],
    *,
    budget_limits: Sequence[int] = (),
    max_disruptions: int | None = None,
    fixed_by_priority: Sequence[tuple[int, int]] = (),
) -> Problem:
    resources = sorted({name for spec in classes for name in spec.demand} | {"pods"})
    slots = tuple(
        NodeSlot(index=i, name=f"n{i}", capacity=tuple(cap.get(r, 0) for r in resources))
        for i, cap in enumerate(nodes)
    )
    built = []
    members = []
    for c, spec in enumerate(classes):
        demand = {**spec.demand, "pods": 1}
        pending = tuple(Pod(namespace="t", name=f"c{c}-pending-{j}") for j in range(spec.pending))
        running = tuple(
            (
                node,
                tuple(
                    Pod(namespace="t", name=f"c{c}-n{node}-{j}", node_name=f"n{node}")
                    for j in range(k)
                ),
            )
            for node, k in sorted(spec.running.items())
            if k
        )
        eligible = tuple(range(len(nodes))) if spec.eligible is None else tuple(spec.eligible)
        built.append(
            PodClass(
                index=c,
                priority=spec.priority,
                demand=tuple(demand.get(r, 0) for r in resources),
                eligible=eligible,
                pending_count=len(pending),
                running=tuple((node, len(pods)) for node, pods in running),
                budgets=tuple(spec.budgets),
            )
        )
        members.append(ClassMembers(pending=pending, running=running))
    return Problem(
        resources=tuple(resources),
        nodes=slots,
        classes=tuple(built),
        budget_limits=tuple(budget_limits),
        budget_names=tuple(f"t/pdb{b}" for b in range(len(budget_limits))),
        max_disruptions=max_disruptions,
        fixed_by_priority=tuple(fixed_by_priority),
        unplanned=(),
        members=tuple(members),
    )


LOW, HIGH = 10, 1000


def fragmented() -> Problem:
    """Two 4-CPU nodes each hold one 2-CPU low pod; a 4-CPU high pod fits only after a move."""
    return tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}, {"cpu": 4000, "pods": 10}],
        classes=[
            ClassSpec(priority=LOW, demand={"cpu": 2000}, running={0: 1, 1: 1}),
            ClassSpec(priority=HIGH, demand={"cpu": 4000}, pending=1),
        ],
    )
