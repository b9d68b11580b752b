"""The packing problem: a cluster reduced to integer vectors, pod classes and node capacities.

Solvers never see Kubernetes objects. ``build_problem`` folds every pod the planner may not touch
(immovable bound pods) into the capacity of its node, groups the pods it may place or move into
*classes* of interchangeable pods (same priority, demand vector, eligible nodes and disruption
budgets), and keeps per class which pods are pending and which run where. Classes are what makes the
model scale: a ReplicaSet of 50 replicas is one integer variable per node, not fifty booleans.

Host ports are modelled as extra resources of capacity one per node, so "no two pods share a host
port on a node" is just another capacity row. Everything is built in time linear in pods plus nodes,
except eligibility, which is computed once per distinct pair of (scheduling constraints, node
shape) and cached.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import PODS, Cluster, DisruptionBudget, LabelItems, Node, Pod
from scheduler_ext.model import eligibility, movability

logger = logging.getLogger(__name__)

SCHEDULER_NAMES = frozenset({"default-scheduler"})


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

    @cached_property
    def capacity_matrix(self) -> npt.NDArray[np.int64]:
        """Node x resource room, the array form of ``NodeSlot.capacity``."""
        matrix = np.array([slot.capacity for slot in self.nodes], dtype=np.int64)
        matrix = matrix.reshape(len(self.nodes), len(self.resources))
        matrix.setflags(write=False)  # shared by every caller of this problem
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


def _host_port_resources(pod: Pod) -> list[str]:
    # A hostIP other than 0.0.0.0 could share a port with another IP; treating all IPs as one
    # conflicts more often than kube-scheduler does, never less, so plans stay valid.
    return sorted({f"hostport/{hp.protocol}/{hp.port}" for hp in pod.host_ports})


def _demand_map(pod: Pod) -> dict[str, int]:
    demand = pod.requests.as_dict()
    demand[PODS] = 1
    for name in _host_port_resources(pod):
        demand[name] = 1
    return demand


def _node_capacity_map(node: Node, port_names: Iterable[str]) -> dict[str, int]:
    capacity = node.allocatable.as_dict()
    for name in port_names:
        capacity[name] = 1
    return capacity


def _constraint_signature(pod: Pod) -> tuple[object, ...]:
    return (pod.node_selector, pod.required_node_affinity, pod.tolerations)


def _node_signature(node: Node) -> tuple[object, ...]:
    return (node.labels, node.taints, node.unschedulable, node.ready)


def _uses_match_fields(pod: Pod) -> bool:
    return any(term.match_fields for term in pod.required_node_affinity)


class _Eligibility:
    """Caches kube-scheduler's static filters per (pod constraints, node shape)."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self._nodes = nodes
        groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for index, node in enumerate(nodes):
            groups[_node_signature(node)].append(index)
        self._groups = list(groups.values())
        self._cache: dict[tuple[object, ...], tuple[tuple[int, ...], tuple[str, ...]]] = {}

    def nodes_for(self, pod: Pod) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """Indices of the nodes passing the filters, and one rejection reason per other node."""
        if _uses_match_fields(pod):  # matchFields names nodes: no sharing across node groups
            return self._evaluate(pod, [[i] for i in range(len(self._nodes))])
        key = _constraint_signature(pod)
        if key not in self._cache:
            self._cache[key] = self._evaluate(pod, self._groups)
        return self._cache[key]

    def _evaluate(
        self, pod: Pod, groups: Sequence[Sequence[int]]
    ) -> tuple[tuple[int, ...], tuple[str, ...]]:
        accepted: list[int] = []
        reasons: list[str] = []
        for group in groups:
            reason = eligibility.static_reject_reason(pod, self._nodes[group[0]])
            if reason is None:
                accepted.extend(group)
            else:
                reasons.extend([reason] * len(group))
        return tuple(sorted(accepted)), tuple(reasons)


ANTI_AFFINITY_REASON = "node(s) didn't satisfy existing pods anti-affinity rules"


class _BudgetIndex:
    """Which disruption budgets cover a pod, without testing every budget against every pod."""

    def __init__(self, budgets: Sequence[DisruptionBudget]) -> None:
        self._budgets = budgets
        # A budget whose selector has matchLabels can only cover pods carrying its first pair.
        self._by_label: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        self._others: dict[str, list[int]] = defaultdict(list)
        for b, budget in enumerate(budgets):
            selector = budget.selector
            if selector is not None and selector.match_labels:
                key, value = selector.match_labels[0]
                self._by_label[(budget.namespace, key, value)].append(b)
            else:
                self._others[budget.namespace].append(b)
        self._cache: dict[tuple[str, LabelItems], tuple[int, ...]] = {}

    def covering(self, pod: Pod) -> tuple[int, ...]:
        key = (pod.namespace, pod.labels)
        found = self._cache.get(key)
        if found is None:
            candidates = list(self._others.get(pod.namespace, ()))
            for label, value in pod.labels:
                candidates += self._by_label.get((pod.namespace, label, value), ())
            found = tuple(
                sorted(b for b in candidates if eligibility.budget_covers(self._budgets[b], pod))
            )
            self._cache[key] = found
        return found


class _AntiAffinity:
    """Nodes closed to a pod by the required anti-affinity of pods already running."""

    def __init__(
        self,
        nodes: Sequence[Node],
        node_index: dict[str, int],
        namespaces: dict[str, LabelItems],
        bound: Iterable[Pod],
    ) -> None:
        self._nodes = nodes
        self._namespaces = namespaces
        self._holders = [
            (pod, nodes[node_index[pod.node_name or ""]]) for pod in bound if pod.anti_affinity
        ]
        self._cache: dict[tuple[str, LabelItems, int], frozenset[int]] = {}

    def blocked(self, pod: Pod, eligible: tuple[int, ...]) -> frozenset[int]:
        if not self._holders:
            return frozenset()
        key = (pod.namespace, pod.labels, id(eligible))
        found = self._cache.get(key)
        if found is None:
            closed: set[int] = set()
            for holder, holder_node in self._holders:
                if holder.key == pod.key:
                    continue
                # Its own node is in its own domain: if that is not blocked, no node is.
                if not eligibility.anti_affinity_blocks(
                    pod, holder, holder_node, holder_node, self._namespaces
                ):
                    continue
                closed.update(
                    n
                    for n in eligible
                    if eligibility.anti_affinity_blocks(
                        pod, holder, holder_node, self._nodes[n], self._namespaces
                    )
                )
            found = frozenset(closed)
            self._cache[key] = found
        return found


def _summarise(reasons: Iterable[str], total: int) -> str:
    counts = Counter(reasons)
    parts = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
    return f"0/{total} nodes are available: {parts}"


def build_problem(
    cluster: Cluster, *, allow_local_storage: bool = False, max_disruptions: int | None = None
) -> Problem:
    nodes = cluster.nodes
    node_index = {node.name: i for i, node in enumerate(nodes)}
    namespaces: dict[str, LabelItems] = {ns.name: ns.labels for ns in cluster.namespaces}
    checker = _Eligibility(nodes)

    fixed: list[Pod] = []
    movable: list[Pod] = []
    pending: list[Pod] = []
    unplanned: list[tuple[Pod, str]] = []
    for pod in cluster.pods:
        if pod.bound:
            if pod.node_name not in node_index:
                continue  # bound to a node outside the snapshot: it holds nothing we plan with
            reason = movability.immovable_reason(pod, allow_local_storage=allow_local_storage)
            (fixed if reason else movable).append(pod)
        elif pod.terminating:
            continue
        elif pod.scheduler_name not in SCHEDULER_NAMES:
            unplanned.append((pod, f"scheduled by {pod.scheduler_name}, not by default-scheduler"))
        elif pod.unmodelled:
            unplanned.append((pod, f"has {pod.unmodelled}, which the planner does not model yet"))
        else:
            pending.append(pod)

    # Resource dimensions: whatever a plannable pod asks for; the rest only shrinks capacity.
    demands = {id(pod): _demand_map(pod) for pod in movable + pending}
    resources = sorted({name for demand in demands.values() for name in demand})
    port_names = [name for name in resources if name.startswith("hostport/")]

    usage: list[dict[str, int]] = [defaultdict(int) for _ in nodes]
    for pod in fixed + movable:
        node_usage = usage[node_index[pod.node_name or ""]]
        for name, amount in _demand_map(pod).items():
            node_usage[name] += amount
    fixed_usage: list[dict[str, int]] = [defaultdict(int) for _ in nodes]
    for pod in fixed:
        node_fixed = fixed_usage[node_index[pod.node_name or ""]]
        for name, amount in _demand_map(pod).items():
            node_fixed[name] += amount

    slots = []
    for i, node in enumerate(nodes):
        allocatable = _node_capacity_map(node, port_names)
        # A node already over its allocatable keeps its current pods: the current placement must
        # stay a solution, or "never worse than doing nothing" would not hold.
        capacity = tuple(
            max(allocatable.get(name, 0), usage[i].get(name, 0)) - fixed_usage[i].get(name, 0)
            for name in resources
        )
        slots.append(NodeSlot(index=i, name=node.name, capacity=capacity))

    budgets = cluster.budgets
    covers = _BudgetIndex(budgets).covering
    blocked_for = _AntiAffinity(nodes, node_index, namespaces, fixed + movable).blocked

    pending_reasons: list[tuple[str, str]] = []
    ClassKey = tuple[int, tuple[int, ...], int, tuple[int, ...]]
    groups: dict[ClassKey, tuple[list[Pod], dict[int, list[Pod]]]] = {}
    eligible_sets: dict[int, tuple[int, ...]] = {}
    for pod in pending + movable:
        eligible, reasons = checker.nodes_for(pod)
        blocked = blocked_for(pod, eligible)
        if blocked:
            eligible = tuple(n for n in eligible if n not in blocked)
            reasons += (ANTI_AFFINITY_REASON,) * len(blocked)
        if not pod.bound and not eligible:
            pending_reasons.append((pod.key, _summarise(reasons, len(nodes))))
        # Eligible sets are long (up to every node) and shared by many pods: key classes by the
        # identity of the cached tuple rather than hashing it again for every pod.
        token = id(eligible)
        eligible_sets.setdefault(token, eligible)
        demand = demands[id(pod)]
        vector = tuple(demand.get(name, 0) for name in resources)
        key: ClassKey = (pod.priority, vector, token, covers(pod))
        pend, run = groups.setdefault(key, ([], defaultdict(list)))
        if pod.bound:
            run[node_index[pod.node_name or ""]].append(pod)
        else:
            pend.append(pod)

    classes = []
    members = []
    for index, ((priority, vector, token, covering), (pend, run)) in enumerate(groups.items()):
        running = sorted(run.items())
        eligible = eligible_sets[token]
        classes.append(
            PodClass(
                index=index,
                priority=priority,
                demand=vector,
                eligible=eligible,
                pending_count=len(pend),
                running=tuple((node, len(pods)) for node, pods in running),
                budgets=covering,
            )
        )
        members.append(
            ClassMembers(
                pending=tuple(sorted(pend, key=lambda p: p.key)),
                running=tuple(
                    (node, tuple(sorted(pods, key=lambda p: p.key))) for node, pods in running
                ),
            )
        )

    fixed_counts = Counter(pod.priority for pod in fixed)
    problem = Problem(
        resources=tuple(resources),
        nodes=tuple(slots),
        classes=tuple(classes),
        budget_limits=tuple(max(0, b.disruptions_allowed) for b in budgets),
        budget_names=tuple(f"{b.namespace}/{b.name}" for b in budgets),
        max_disruptions=max_disruptions,
        fixed_by_priority=tuple(sorted(fixed_counts.items(), reverse=True)),
        unplanned=tuple(unplanned),
        pending_reasons=tuple(pending_reasons),
        members=tuple(members),
    )
    logger.debug(
        "problem: %d nodes, %d classes, %d resources, %d fixed pods",
        len(slots),
        len(classes),
        len(resources),
        len(fixed),
    )
    return problem
