"""What keeps one Pending pod off each node, in kube-scheduler's words, and what would still keep it
off once every pod a plan may disturb had left: the two halves of ``scheduler-ext explain``.

The rules are the model's own, so an explanation never disagrees with a plan: the static filters
(``eligibility.static_reject_reason``), the inter-pod rules against the running pods
(``InterPod.prune``, then ``interpod_violations`` with the pod added, which covers spread skew and
affinity that needs a running match), and room as the model counts it (``build.demand``: requests,
one pod slot, host ports).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scheduler_ext.domain import PODS, Cluster, Node, Pod
from scheduler_ext.model import movability
from scheduler_ext.model.assignment import current_assignment, interpod_violations
from scheduler_ext.model.build import demand
from scheduler_ext.model.eligibility import (
    NOT_READY_TAINT,
    REASON_NOT_READY,
    static_reject_reason,
    untolerated_taint,
)
from scheduler_ext.model.indexes import BudgetIndex, NodeSets
from scheduler_ext.model.interpod import REASON_AFFINITY, REASON_ANTI, InterPod
from scheduler_ext.model.movability import EvictionPolicy, budget_allowance
from scheduler_ext.model.problem import build_problem

_RULE_REASONS = (
    ("anti-affinity group", REASON_ANTI),
    ("spread group", "node(s) didn't match pod topology spread constraints"),
    ("affinity group", REASON_AFFINITY),
)
"""The model's rule messages (``interpod_rules``) as kube-scheduler words the failure."""

FROZEN = EvictionPolicy(movable_owner_kinds=frozenset())
"""Every running pod stays: the cluster as kube-scheduler sees it now."""

TAINT_REASON = "node(s) had untolerated taint(s)"
"""TaintToleration's words since Kubernetes 1.33 (no longer naming the taint: we add it)."""

FILTERS = (
    ("NodeUnschedulable", ("node(s) were unschedulable",)),
    ("TaintToleration", (TAINT_REASON,)),
    ("NodeAffinity", ("node(s) didn't match Pod's node affinity",)),
    ("NodePorts", ("node(s) didn't have free ports",)),
    ("NodeResourcesFit", ("Too many pods", "Insufficient ")),
    ("PodTopologySpread", ("node(s) didn't match pod topology spread",)),
    ("InterPodAffinity", ("node(s) didn't match pod", "node(s) didn't satisfy existing pods")),
)
"""kube-scheduler's filter plugins in the order it runs them, with the start of their reasons."""


def filter_of(reason: str) -> int:
    """The position in ``FILTERS`` of the plugin that gives ``reason`` (last when unknown)."""
    return next(
        (i for i, (_, starts) in enumerate(FILTERS) if reason.startswith(starts)), len(FILTERS)
    )


def first_filter_reasons(reasons: Sequence[str]) -> tuple[str, ...]:
    """The reasons kube-scheduler reports for a node (its FailedScheduling counts): those of the
    first failing filter only, and one of them unless it is NodeResourcesFit (which names every
    resource that does not fit)."""
    if not reasons:
        return ()
    first = filter_of(reasons[0])
    if first == len(FILTERS) or FILTERS[first][0] != "NodeResourcesFit":
        return (reasons[0],)
    return tuple(r for r in reasons if filter_of(r) == first)


@dataclass(frozen=True)
class NodeVerdict:
    """Why ``pod`` cannot land on ``node`` (kube-scheduler's first failing filter first); no
    reasons: it fits there."""

    node: str
    reasons: tuple[str, ...]


def amount(resource: str, value: int) -> str:
    """A quantity as an operator writes it: cpu in cores or millicores, memory in binary units."""
    if resource == "cpu":
        return f"{value // 1000}" if value % 1000 == 0 else f"{value}m"
    if resource == "memory" or resource.endswith("storage") or resource.startswith("hugepages-"):
        for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if value and value % size == 0:
                return f"{value // size}{unit}"
    return str(value)


def _shortfalls(needs: Mapping[str, int], node: Node, taken: Counter[str]) -> list[str]:
    found = []
    # NodePorts runs before NodeResourcesFit; Fit names the pod count first, then each resource.
    order = sorted(needs.items(), key=lambda i: (not i[0].startswith("hostport/"), i[0] != PODS, i))
    for resource, need in order:
        if resource.startswith("hostport/"):
            if taken[resource]:
                found.append("node(s) didn't have free ports for the requested pod ports")
            continue
        free = node.allocatable.get(resource) - taken[resource]
        if need > free:
            if resource == PODS:
                found.append("Too many pods")
            else:
                found.append(
                    f"Insufficient {resource} (needs {amount(resource, need)}, "
                    f"{amount(resource, max(free, 0))} free)"
                )
    return found


def _usage(pods: Sequence[Pod]) -> Counter[str]:
    taken: Counter[str] = Counter()
    for pod in pods:
        taken.update(demand(pod))
    return taken


def alone(cluster: Cluster, pod: Pod) -> Cluster:
    """``cluster`` with ``pod`` the only pending pod: an explanation is about it alone."""
    return Cluster(
        nodes=cluster.nodes,
        pods=(*(p for p in cluster.pods if p.bound), pod),
        budgets=cluster.budgets,
        priority_classes=cluster.priority_classes,
        namespaces=cluster.namespaces,
    )


def _static(pod: Pod, node: Node) -> list[str]:
    """The static filters' reason in kube-scheduler's words, the taint named as a detail (a node
    not Ready is the node lifecycle controller's not-ready taint to kube-scheduler)."""
    static = static_reject_reason(pod, node)
    if static is None:
        return []
    taint = NOT_READY_TAINT if static == REASON_NOT_READY else untolerated_taint(pod, node)
    if static.startswith("node(s) had untolerated taint") or static == REASON_NOT_READY:
        assert taint is not None
        return [f"{TAINT_REASON} (taint {taint.key}={taint.value}:{taint.effect})"]
    return [static]


def blockers_now(cluster: Cluster, pod: Pod) -> tuple[NodeVerdict, ...]:
    """Per node, what keeps ``pod`` off it while every running pod stays where it is."""
    index = {node.name: i for i, node in enumerate(cluster.nodes)}
    running = [p for p in cluster.pods if p.bound and p.node_name in index]
    on_node: dict[str, list[Pod]] = {}
    for p in running:
        on_node.setdefault(p.node_name or "", []).append(p)
    needs = demand(pod)
    reasons: list[list[str]] = []
    for node in cluster.nodes:
        reasons.append(_static(pod, node))
    passing = [i for i, found in enumerate(reasons) if not found]
    for i in passing:  # NodeResourcesFit runs before the inter-pod filters
        node = cluster.nodes[i]
        reasons[i] += _shortfalls(needs, node, _usage(on_node.get(node.name, [])))
    node_sets = NodeSets()
    namespaces = {ns.name: ns.labels for ns in cluster.namespaces}
    inter = InterPod(cluster.nodes, running, [pod], node_sets, namespaces)
    allowed_id, closed = inter.prune(pod, node_sets.add(tuple(passing)))
    allowed = set(node_sets[allowed_id])
    for i, why in zip((i for i in passing if i not in allowed), closed, strict=True):
        reasons[i].append(why)
    fitting = [i for i in allowed if not reasons[i]]
    if fitting and (pod.affinity or pod.spread or any(p.anti_affinity for p in running)):
        _dynamic_rules(cluster, pod, fitting, reasons)
    return tuple(
        NodeVerdict(node.name, tuple(sorted(found, key=filter_of)))  # stable: in-filter order
        for node, found in zip(cluster.nodes, reasons, strict=True)
    )


def _dynamic_rules(
    cluster: Cluster, pod: Pod, fitting: list[int], reasons: list[list[str]]
) -> None:
    """The inter-pod rules that depend on counts (spread skew, affinity needing a running match),
    checked by the model's own evaluation of the placement with ``pod`` added on each node."""
    problem = build_problem(alone(cluster, pod), policy=FROZEN)
    if not problem.has_interpod:
        return
    target = next(c for c, m in enumerate(problem.members) if pod in m.pending)
    base = current_assignment(problem).counts()
    for i in fitting:
        if i not in problem.classes[target].eligible_set:
            continue
        counts = [dict(c) for c in base]
        counts[target][i] = counts[target].get(i, 0) + 1
        for violation in interpod_violations(problem, counts):
            said = next((r for prefix, r in _RULE_REASONS if violation.startswith(prefix)), None)
            reasons[i].append(said or violation)


@dataclass(frozen=True)
class Holders:
    """What still holds a node's room once every pod a plan may disturb for ``pod`` has left."""

    node: str
    short: tuple[str, ...]
    """The shortfalls left (empty: the room exists once the freeable pods leave)."""
    freeable: int
    """Running pods of lower priority that the eviction rules let a plan move or evict."""
    higher: int
    """Running pods of equal or higher priority: never disturbed for ``pod``."""
    immovable: tuple[tuple[str, int], ...]
    """Lower-priority pods the eviction rules keep, per rule id."""
    locked_budgets: tuple[str, ...]
    """Budgets covering freeable pods that allow no disruption now."""


def holders(cluster: Cluster, pod: Pod, policy: EvictionPolicy) -> tuple[Holders, ...]:
    """Per node that passes kube-scheduler's static filters, what keeps ``pod``'s room taken even
    if every lower-priority pod the rules let move had left."""
    budgets = BudgetIndex(cluster.budgets)
    found = []
    for node in cluster.nodes:
        if static_reject_reason(pod, node):
            continue
        stay: list[Pod] = []
        freeable: list[Pod] = []
        rules: Counter[str] = Counter()
        higher = 0
        for p in cluster.pods_on(node.name):
            reason = movability.immovable_reason(p, policy, budgets.names(p))
            if p.priority >= pod.priority:
                higher += 1
                stay.append(p)
            elif reason is not None:
                rules[reason.split(":", 1)[0]] += 1
                stay.append(p)
            else:
                freeable.append(p)
        locked = sorted(
            {
                f"{cluster.budgets[b].namespace}/{cluster.budgets[b].name}"
                for p in freeable
                for b in budgets.covering(p)
                if budget_allowance(cluster.budgets[b]) <= 0
            }
        )
        found.append(
            Holders(
                node=node.name,
                short=tuple(_shortfalls(demand(pod), node, _usage(stay))),
                freeable=len(freeable),
                higher=higher,
                immovable=tuple(sorted(rules.items())),
                locked_budgets=tuple(locked),
            )
        )
    return tuple(found)
