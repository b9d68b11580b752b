"""The exact optimum of a tiny cluster by exhaustive search, to hold the planner's proofs against.

Every pod the planner may touch (pending pods it may bind, bound pods it may move or evict) gets
every possible fate: each node it may land on, its current node if bound, or nothing. Everything
else stays put. Feasibility comes from ``testkit/checker.py``'s rules; the search is a depth-first
enumeration that drops a branch as soon as a node that received a pod overflows, a host port
clashes, a disruption limit is exceeded, or even placing every remaining pod could not beat the
best objective found so far. Meant for at most 3 nodes and 7 such pods (4^7 leaves at worst).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from scheduler_ext.domain import Cluster, Pod
from testkit import checker

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


def free_pods(cluster: Cluster, *, allow_local_storage: bool = False) -> list[Pod]:
    """The pods whose node may change: bindable pending pods and disruptable bound pods."""
    out = []
    for pod in cluster.pods:
        if pod.node_name is None:
            if checker.unbindable_reason(pod) is None:
                out.append(pod)
        elif checker.immovable_reason(pod, allow_local_storage=allow_local_storage) is None:
            out.append(pod)
    return out


def within_size(
    cluster: Cluster,
    *,
    allow_local_storage: bool = False,
    max_nodes: int = MAX_NODES,
    max_free_pods: int = MAX_FREE_PODS,
) -> bool:
    free = free_pods(cluster, allow_local_storage=allow_local_storage)
    return len(cluster.nodes) <= max_nodes and len(free) <= max_free_pods


def brute_force(
    cluster: Cluster,
    *,
    max_disruptions: int | None = None,
    allow_local_storage: bool = False,
    max_nodes: int = MAX_NODES,
    max_free_pods: int = MAX_FREE_PODS,
) -> Optimum:
    """The best objective over every placement; raises TooLarge beyond the size limits, which
    callers may raise for clusters whose optimum has few disruptions (the search prunes by it)."""
    if not within_size(
        cluster,
        allow_local_storage=allow_local_storage,
        max_nodes=max_nodes,
        max_free_pods=max_free_pods,
    ):
        raise TooLarge(f"{len(cluster.nodes)} nodes, too many free pods for brute force")
    nodes = {node.name: node for node in cluster.nodes}
    priorities = checker.priorities_of(cluster)
    rank = {p: i for i, p in enumerate(priorities)}
    free = free_pods(cluster, allow_local_storage=allow_local_storage)
    free_keys = {pod.key for pod in free}
    # Bound pods first: their fates decide the room the pending pods can use.
    free.sort(key=lambda p: (p.node_name is None, -p.priority, p.key))

    domains: list[Sequence[str | None]] = []
    for pod in free:
        landing = [n for n in sorted(nodes) if checker.node_rejects(pod, nodes[n]) is None]
        if pod.node_name is None:
            domains.append([*landing, None])
        else:
            others = [n for n in landing if n != pod.node_name]
            domains.append([pod.node_name, *others, None])

    final: dict[str, str | None] = checker.current_placement(cluster)
    on_node: dict[str, list[Pod]] = {name: [] for name in nodes}
    base_counts = [0] * len(priorities)
    for pod in cluster.pods:
        if pod.key not in free_keys and pod.node_name is not None:
            base_counts[rank[pod.priority]] += 1
            if pod.node_name in on_node:
                on_node[pod.node_name].append(pod)
    any_anti_affinity = any(pod.anti_affinity for pod in cluster.pods)
    covering = [
        [i for i, b in enumerate(cluster.budgets) if checker.budget_covers(b, pod)] for pod in free
    ]

    best: list[tuple[tuple[int, ...], dict[str, str | None]]] = []
    explored = 0
    counts = list(base_counts)
    remaining = Counter(rank[pod.priority] for pod in free)
    budget_used = [0] * len(cluster.budgets)
    dirty: Counter[str] = Counter()  # nodes with pods that newly land there
    arrived: list[str] = []

    def bound_ok(disturbed: int, evictions: int) -> bool:
        if not best:
            return True
        optimistic = tuple(counts[i] + remaining[i] for i in range(len(priorities)))
        return (*optimistic, -disturbed, -evictions) > best[0][0]

    def visit(index: int, disturbed: int, evictions: int) -> None:
        nonlocal explored
        if not bound_ok(disturbed, evictions):
            return
        if index == len(free):
            explored += 1
            if any_anti_affinity and checker.anti_affinity_violation(cluster, final, arrived):
                return
            objective = (*counts, -disturbed, -evictions)
            if not best or objective > best[0][0]:
                best[:] = [(objective, dict(final))]
            return
        pod = free[index]
        r = rank[pod.priority]
        remaining[r] -= 1
        for target in domains[index]:
            moved = pod.node_name is not None and target != pod.node_name
            if moved:
                if max_disruptions is not None and disturbed + 1 > max_disruptions:
                    continue
                if any(
                    budget_used[b] + 1 > cluster.budgets[b].disruptions_allowed
                    for b in covering[index]
                ):
                    continue
            lands = target is not None and target != pod.node_name
            if target is not None:
                pods_there = on_node[target]
                pods_there.append(pod)
                if (lands or dirty[target]) and (
                    checker.capacity_violation(nodes[target], pods_there)
                    or checker.port_conflict(pods_there)
                ):
                    pods_there.pop()
                    continue
                counts[r] += 1
            if lands:
                dirty[target or ""] += 1
                arrived.append(pod.key)
            if moved:
                for b in covering[index]:
                    budget_used[b] += 1
            final[pod.key] = target

            visit(index + 1, disturbed + moved, evictions + (moved and target is None))

            final[pod.key] = pod.node_name
            if moved:
                for b in covering[index]:
                    budget_used[b] -= 1
            if lands:
                dirty[target or ""] -= 1
                arrived.pop()
            if target is not None:
                counts[r] -= 1
                on_node[target].pop()
        remaining[r] += 1

    visit(0, 0, 0)
    assert best, "the current placement is always feasible, so the search finds something"
    objective, placement = best[0]
    result = checker.validate_placement(
        cluster,
        placement,
        max_disruptions=max_disruptions,
        allow_local_storage=allow_local_storage,
    )
    assert result.objective == objective, (result.objective, objective)
    return Optimum(objective=objective, placement=placement, explored=explored)
