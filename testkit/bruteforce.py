"""The exact optimum of a tiny cluster by exhaustive search, to hold the planner's proofs against.

Every pod the planner may touch (pending pods it may bind, bound pods it may move or evict) gets
every possible fate: each node it may land on, its current node if bound, or nothing. Everything
else stays put. Feasibility comes from ``testkit/checker.py``'s rules; the search is a depth-first
enumeration that drops a branch as soon as a node that received a pod overflows, a host port
clashes, a disruption limit is exceeded, or even placing every remaining pod could not beat the
best objective found so far. The rules that need the whole placement (inter-pod affinity,
anti-affinity and topology spread in an execution order, the preemption policy) are checked at
each leaf, so the optimum is the exact one under every rule the checker applies. Meant for at
most 3 nodes and 7 such pods (4^7 leaves at worst).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from scheduler_ext.domain import Cluster, Pod
from testkit import checker
from testkit.interpod import has_interpod_rules

MAX_NODES = 3
MAX_FREE_PODS = 7


class TooLarge(ValueError):
    """The cluster is beyond what the exhaustive search is meant for."""


@dataclass(frozen=True)
class Optimum:
    objective: tuple[int, ...]
    """As ``CheckResult.objective``: placed per priority (highest first), -disturbed, -evictions."""
    placement: dict[str, str | None]
    explored: int


def free_pods(
    cluster: Cluster,
    *,
    allow_local_storage: bool = False,
    movable_owner_kinds: frozenset[str] = checker.MOVABLE_OWNER_KINDS,
) -> list[Pod]:
    """The pods whose node may change: bindable pending pods and disruptable bound pods."""
    out = []
    for pod in cluster.pods:
        if pod.node_name is None:
            if checker.unbindable_reason(pod) is None:
                out.append(pod)
        elif (
            checker.immovable_reason(
                pod,
                allow_local_storage=allow_local_storage,
                movable_owner_kinds=movable_owner_kinds,
                budgets=cluster.budgets,
            )
            is None
        ):
            out.append(pod)
    return out


def within_size(
    cluster: Cluster,
    *,
    allow_local_storage: bool = False,
    movable_owner_kinds: frozenset[str] = checker.MOVABLE_OWNER_KINDS,
    max_nodes: int = MAX_NODES,
    max_free_pods: int = MAX_FREE_PODS,
) -> bool:
    free = free_pods(
        cluster, allow_local_storage=allow_local_storage, movable_owner_kinds=movable_owner_kinds
    )
    return len(cluster.nodes) <= max_nodes and len(free) <= max_free_pods


def brute_force(
    cluster: Cluster,
    *,
    max_disruptions: int | None = None,
    allow_local_storage: bool = False,
    movable_owner_kinds: frozenset[str] = checker.MOVABLE_OWNER_KINDS,
    max_nodes: int = MAX_NODES,
    max_free_pods: int = MAX_FREE_PODS,
) -> Optimum:
    """The best objective over every placement; raises TooLarge beyond the size limits, which
    callers may raise for clusters whose optimum has few disruptions (the search prunes by it)."""
    if not within_size(
        cluster,
        allow_local_storage=allow_local_storage,
        movable_owner_kinds=movable_owner_kinds,
        max_nodes=max_nodes,
        max_free_pods=max_free_pods,
    ):
        raise TooLarge(f"{len(cluster.nodes)} nodes, too many free pods for brute force")
    search = _Search(
        cluster,
        max_disruptions=max_disruptions,
        free=free_pods(
            cluster,
            allow_local_storage=allow_local_storage,
            movable_owner_kinds=movable_owner_kinds,
        ),
    )
    search.visit(0, 0, 0)
    assert search.best, "the current placement is always feasible, so the search finds something"
    objective, placement = search.best[0]
    result = checker.validate_placement(
        cluster,
        placement,
        max_disruptions=max_disruptions,
        allow_local_storage=allow_local_storage,
        movable_owner_kinds=movable_owner_kinds,
    )
    assert result.objective == objective, (result.objective, objective)
    return Optimum(objective=objective, placement=placement, explored=search.explored)


class _Search:
    """The depth-first search's state: each free pod in turn tries every fate in its domain;
    ``_enter`` and ``_leave`` do and undo one fate, so the state is always the current branch."""

    def __init__(self, cluster: Cluster, *, max_disruptions: int | None, free: list[Pod]) -> None:
        self.cluster = cluster
        self.max_disruptions = max_disruptions
        self.nodes = {node.name: node for node in cluster.nodes}
        self.priorities = checker.priorities_of(cluster)
        self.rank = {p: i for i, p in enumerate(self.priorities)}
        free_keys = {pod.key for pod in free}
        # Bound pods first: their fates decide the room the pending pods can use.
        free.sort(key=lambda p: (p.node_name is None, -p.priority, p.key))
        self.free = free
        self.domains = [self._domain(pod) for pod in free]

        self.final: dict[str, str | None] = checker.current_placement(cluster)
        self.on_node: dict[str, list[Pod]] = {name: [] for name in self.nodes}
        self.counts = [0] * len(self.priorities)
        for pod in cluster.pods:
            if pod.key not in free_keys and pod.node_name is not None:
                self.counts[self.rank[pod.priority]] += 1
                if pod.node_name in self.on_node:
                    self.on_node[pod.node_name].append(pod)
        self.any_interpod = any(has_interpod_rules(pod) for pod in cluster.pods)
        self.any_never = any(not pod.preempts for pod in free)
        self.covering = [
            [i for i, b in enumerate(cluster.budgets) if checker.budget_covers(b, pod)]
            for pod in free
        ]

        self.best: list[tuple[tuple[int, ...], dict[str, str | None]]] = []
        self.explored = 0
        self.remaining = Counter(self.rank[pod.priority] for pod in free)
        self.budget_used = [0] * len(cluster.budgets)
        self.dirty: Counter[str] = Counter()  # nodes with pods that newly land there
        self.arrived: list[str] = []

    def _domain(self, pod: Pod) -> Sequence[str | None]:
        """A pod's fates: its own node first (if bound), each other node it may land on, none."""
        landing = [
            n for n in sorted(self.nodes) if checker.node_rejects(pod, self.nodes[n]) is None
        ]
        if pod.node_name is None:
            return [*landing, None]
        return [pod.node_name, *(n for n in landing if n != pod.node_name), None]

    def _bound_ok(self, disturbed: int, evictions: int) -> bool:
        if not self.best:
            return True
        optimistic = tuple(self.counts[i] + self.remaining[i] for i in range(len(self.priorities)))
        return (*optimistic, -disturbed, -evictions) > self.best[0][0]

    def visit(self, index: int, disturbed: int, evictions: int) -> None:
        if not self._bound_ok(disturbed, evictions):
            return
        if index == len(self.free):
            self._leaf(disturbed, evictions)
            return
        pod = self.free[index]
        r = self.rank[pod.priority]
        self.remaining[r] -= 1
        for target in self.domains[index]:
            moved = pod.node_name is not None and target != pod.node_name
            if moved and not self._may_disturb(index, disturbed):
                continue
            lands = target is not None and target != pod.node_name
            if target is not None and not self._fits(pod, target, lands):
                continue
            self._enter(index, target, moved=moved, lands=lands)
            self.visit(index + 1, disturbed + moved, evictions + (moved and target is None))
            self._leave(index, target, moved=moved, lands=lands)
        self.remaining[r] += 1

    def _leaf(self, disturbed: int, evictions: int) -> None:
        self.explored += 1
        if self.any_interpod and checker.interpod_violation(self.cluster, self.final, self.arrived):
            return
        if self.any_never and checker.preemption_violation(self.cluster, self.final):
            return
        objective = (*self.counts, -disturbed, -evictions)
        if not self.best or objective > self.best[0][0]:
            self.best[:] = [(objective, dict(self.final))]

    def _may_disturb(self, index: int, disturbed: int) -> bool:
        """One more disruption stays within ``max_disruptions`` and every covering budget."""
        if self.max_disruptions is not None and disturbed + 1 > self.max_disruptions:
            return False
        budgets = self.cluster.budgets
        return not any(
            self.budget_used[b] + 1 > checker.budget_allowance(budgets[b])
            for b in self.covering[index]
        )

    def _fits(self, pod: Pod, target: str, lands: bool) -> bool:
        """Adds ``pod`` to ``target``'s pods if the node (when anything newly lands on it) still
        fits them and their host ports; otherwise leaves it as it was."""
        pods_there = self.on_node[target]
        pods_there.append(pod)
        if (lands or self.dirty[target]) and (
            checker.capacity_violation(self.nodes[target], pods_there)
            or checker.port_conflict(pods_there)
        ):
            pods_there.pop()
            return False
        return True

    def _enter(self, index: int, target: str | None, *, moved: bool, lands: bool) -> None:
        pod = self.free[index]
        if target is not None:
            self.counts[self.rank[pod.priority]] += 1
        if lands:
            self.dirty[target or ""] += 1
            self.arrived.append(pod.key)
        if moved:
            for b in self.covering[index]:
                self.budget_used[b] += 1
        self.final[pod.key] = target

    def _leave(self, index: int, target: str | None, *, moved: bool, lands: bool) -> None:
        pod = self.free[index]
        self.final[pod.key] = pod.node_name
        if moved:
            for b in self.covering[index]:
                self.budget_used[b] -= 1
        if lands:
            self.dirty[target or ""] -= 1
            self.arrived.pop()
        if target is not None:
            self.counts[self.rank[pod.priority]] -= 1
            self.on_node[target].pop()
