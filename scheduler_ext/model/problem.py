"""The packing problem: a cluster reduced to integer vectors, pod classes and node capacities.

Solvers never see Kubernetes objects. ``build_problem`` (its steps in ``model/build.py``) folds
every pod the planner may not touch (immovable bound pods) into the capacity of its node, groups the
pods it may place or move into *classes* of interchangeable pods (same priority, demand vector,
eligible nodes and disruption budgets), and keeps per class which pods are pending and which run
where. Classes are what makes the model scale: a ReplicaSet of 50 replicas is one integer variable
per node, not fifty booleans.

Host ports are modelled as extra resources of capacity one per node, so "no two pods share a host
port on a node" is just another capacity row.

Inter-pod constraints (required anti-affinity and affinity, DoNotSchedule topology spread) are kept
by topology *domain*, never by pod pair: each is a *group* of classes (the ones that carry it and
the ones it counts) plus constant counts of the immovable pods per domain, so the model stays as
small as the classes are. Their rules and the order a plan is carried out in are in
``model/interpod_rules.py``; how the groups are found, in ``model/interpod.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import Cluster, Pod
from scheduler_ext.model.movability import DEFAULT_POLICY, EvictionPolicy


@dataclass(frozen=True)
class NodeSlot:
    index: int
    name: str
    capacity: tuple[int, ...]
    """Room for the classes' pods per resource, once the immovable pods on the node are counted."""


@dataclass(frozen=True)
class PodClass:
    """Interchangeable pods, by count: what the solvers see (no Kubernetes objects)."""

    index: int
    priority: int
    demand: tuple[int, ...]
    """Per resource of ``Problem.resources``; the ``pods`` resource is always 1."""
    eligible: tuple[int, ...]
    """Nodes where a pod of this class may newly land."""
    pending_count: int
    running: tuple[tuple[int, int], ...]
    """(node index, movable pods of this class bound there), one entry per node."""
    budgets: tuple[int, ...]
    """Indices into ``Problem.budget_limits`` of the disruption budgets covering these pods."""
    preempts: bool = True
    """False for ``preemptionPolicy: Never``: no plan may evict lower-priority pods for it."""

    @cached_property
    def eligible_set(self) -> frozenset[int]:
        return frozenset(self.eligible)

    @cached_property
    def running_count(self) -> int:
        return sum(k for _, k in self.running)

    @property
    def count(self) -> int:
        return self.pending_count + self.running_count

    def running_on(self) -> dict[int, int]:
        return dict(self.running)

    def domain(self) -> tuple[int, ...]:
        """Every node a pod of this class may end on: eligible ones plus where it runs now."""
        return tuple(sorted(self.eligible_set.union(node for node, _ in self.running)))


@dataclass(frozen=True)
class Topology:
    """The domains of one node label (``topologyKey``): each node's domain, -1 without the label."""

    key: str
    domain_of: tuple[int, ...]
    values: tuple[str, ...]
    """The label value of each domain."""


DomainCounts = tuple[tuple[int, int], ...]
"""Sorted (domain, count) pairs, count > 0: immovable pods per domain."""


@dataclass(frozen=True)
class AntiAffinityGroup:
    """One required anti-affinity term (as resolved for its carriers' namespace): a carrier and
    another pod the term selects may not end in the same domain (kube-scheduler checks both
    directions, ``interpodaffinity/filtering.go``: satisfyPodAntiAffinity and
    satisfyExistingPodsAntiAffinity)."""

    topology: int
    carriers: tuple[int, ...]
    """Classes whose pods carry the term."""
    matchers: tuple[int, ...]
    """Classes whose pods the term selects (a class may be both)."""
    fixed: tuple[tuple[int, int, int, int], ...]
    """(domain, carriers, matchers, both) among the immovable pods there."""
    closed: tuple[int, ...]
    """Domains whose running pods already break the term (it is IgnoredDuringExecution): the
    rule holds there only once a pod the term involves lands there."""


@dataclass(frozen=True)
class SpreadGroup:
    """One DoNotSchedule topology spread constraint of its carriers (``podtopologyspread``): the
    matching pods of their namespace, counted per domain over the nodes that count."""

    topology: int
    max_skew: int
    min_domains: int
    counted: tuple[int, ...]
    """Nodes whose pods count (they carry every topology key of the carriers' constraints and
    pass their node inclusion policies)."""
    domains: tuple[int, ...]
    """The domains of the counted nodes: the ones the smallest count is taken over."""
    carriers: tuple[int, ...]
    matchers: tuple[int, ...]
    fixed: DomainCounts
    """Immovable, not terminating matching pods on counted nodes, per domain."""
    necessary_only: bool = False
    """Keep only a rule every real plan meets (for the certificate of an optimum, never for a
    plan): a carrier's domain, with its running and landing self-matching pods only, at most
    maxSkew above the smallest final count."""

    @cached_property
    def counted_set(self) -> frozenset[int]:
        return frozenset(self.counted)


@dataclass(frozen=True)
class AffinityGroup:
    """The required affinity terms of its carriers (all of a pod's terms): a carrier may land on
    a node only if, for every term, a pod matching *all* terms is in the node's domain of that
    term (``satisfyPodAffinity``); the first of a self-matching group may land alone."""

    topologies: tuple[int, ...]
    """One per term."""
    carriers: tuple[int, ...]
    self_matching: tuple[int, ...]
    """Carriers whose own pods match every term."""
    matchers: tuple[int, ...]
    """Classes whose pods match every term."""
    witnesses: tuple[DomainCounts, ...]
    """Per term: immovable matching pods per domain, terminating ones too (kube-scheduler counts
    them while they exist)."""
    bootstrap: bool
    """No immovable pod (terminating ones included) matches every term: once the running
    matching pods all leave, the group's first carrier may land alone, if it matches its own
    terms (``satisfyPodAffinity``)."""
    fixed_anywhere: int = 0
    """Immovable matching pods (terminating ones too) on nodes with any of the terms' keys: while
    one exists, kube-scheduler lets no first pod of a self-matching group land alone."""


@dataclass(frozen=True)
class ClassMembers:
    """The pods behind a class's counts, in the order they are bound, moved or evicted."""

    pending: tuple[Pod, ...]
    running: tuple[tuple[int, tuple[Pod, ...]], ...]


@dataclass(frozen=True)
class Problem:
    resources: tuple[str, ...]
    nodes: tuple[NodeSlot, ...]
    classes: tuple[PodClass, ...]
    budget_limits: tuple[int, ...]
    budget_names: tuple[str, ...]
    max_disruptions: int | None
    fixed_by_priority: tuple[tuple[int, int], ...]
    """(priority, count) of bound pods that cannot move: placed in every plan."""
    unplanned: tuple[tuple[Pod, str], ...]
    """Pending pods the planner will not place, with the reason."""
    pending_reasons: tuple[tuple[str, str], ...] = ()
    """(pod key, why no node passes its filters) for modelled pending pods with no eligible node."""
    members: tuple[ClassMembers, ...] = ()
    """Per class, its pods; empty in the copy handed to a solver process."""
    kept: tuple[tuple[str, int], ...] = ()
    """(eviction rule id, how many running pods it keeps in place), for the plan's diagnostics."""
    topologies: tuple[Topology, ...] = ()
    inexact: tuple[str, ...] = ()
    """Where the build kept a rule stricter than kube-scheduler, so that a solver's optimum is no
    proof (none today; ``interpod_state.inexact_groups`` names the groups' own)."""
    strict_capacity: tuple[tuple[int, tuple[int, ...]], ...] = ()
    """(node, room per resource) for nodes their running pods already overcommit: the room once
    any pod lands there (within the allocatable), while ``NodeSlot.capacity`` lets them stay."""
    anti_affinity: tuple[AntiAffinityGroup, ...] = ()
    spread: tuple[SpreadGroup, ...] = ()
    affinity: tuple[AffinityGroup, ...] = ()

    @property
    def has_interpod(self) -> bool:
        """Whether any inter-pod rule or preemption policy constrains the classes."""
        return bool(
            self.anti_affinity
            or self.spread
            or self.affinity
            or any(not cls.preempts for cls in self.classes)
        )

    @cached_property
    def capacity_matrix(self) -> npt.NDArray[np.int64]:
        """Node x resource room, the array form of ``NodeSlot.capacity``."""
        matrix = np.array([slot.capacity for slot in self.nodes], dtype=np.int64)
        matrix = matrix.reshape(len(self.nodes), len(self.resources))
        matrix.setflags(write=False)  # shared by every caller of this problem
        return matrix

    @cached_property
    def landing_capacity_matrix(self) -> npt.NDArray[np.int64]:
        """``capacity_matrix`` with each overcommitted node's room once a pod lands there."""
        if not self.strict_capacity:
            return self.capacity_matrix
        matrix = self.capacity_matrix.copy()
        for node, room in self.strict_capacity:
            matrix[node] = room
        matrix.setflags(write=False)
        return matrix

    def for_solver(self) -> Problem:
        """The numbers only: cheap to send to another process."""
        return replace(self, members=(), unplanned=(), pending_reasons=())

    @property
    def priorities(self) -> tuple[int, ...]:
        """Every priority with a pod, highest first: the lexicographic order of tiers."""
        values = {cls.priority for cls in self.classes} | {p for p, _ in self.fixed_by_priority}
        values |= {pod.priority for pod, _ in self.unplanned}
        return tuple(sorted(values, reverse=True))


def build_problem(
    cluster: Cluster,
    *,
    policy: EvictionPolicy = DEFAULT_POLICY,
    max_disruptions: int | None = None,
) -> Problem:
    """The packing problem of ``cluster``; the steps are in ``model/build.py``, the eviction
    rules ``policy`` switches in ``model/movability.py``."""
    # Imported here: the build makes the types above, so importing it at the top would be a cycle.
    from scheduler_ext.model.build import build

    return build(cluster, policy=policy, max_disruptions=max_disruptions)
