"""How a cluster becomes a ``Problem``, in the order a newcomer would ask about it:

1. ``sort_pods``: which pods are fixed (bound and immovable: folded into their node's capacity),
   movable, pending (to be placed) or unplanned (with the reason); terminating pods and pods bound
   outside the snapshot are ignored.
2. ``demand``: what each plannable pod takes from a node, host ports as resources of one per node.
3. ``node_slots``: each node's room for the plannable pods once the fixed ones are counted.
4. ``eligible_nodes``: where each plannable pod may newly land (kube-scheduler's static filters,
   then what the immovable pods' inter-pod terms and the pod's own topology keys already decide,
   ``model/interpod.py``), and for a pending pod with nowhere to go, why.
5. ``pod_classes``: interchangeable pods (same priority, demand, eligible nodes, budgets, and the
   inter-pod terms they carry and match) grouped into counted classes, with their members for
   turning counts back into pods; then the inter-pod groups over those classes.

Each step is linear in pods plus nodes; the lookups that keep it so are in ``indexes.py``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scheduler_ext.domain import Cluster, LabelItems, Node, Pod
from scheduler_ext.model import movability
from scheduler_ext.model.indexes import (
    BudgetIndex,
    NodeSetId,
    NodeSets,
    StaticFilters,
    budget_limits,
)
from scheduler_ext.model.interpod import REASON_EXISTING_ANTI, InterPod, Signature
from scheduler_ext.model.problem import ClassMembers, NodeSlot, PodClass, Problem

logger = logging.getLogger(__name__)

ANTI_AFFINITY_REASON = REASON_EXISTING_ANTI


@dataclass
class SortedPods:
    fixed: list[Pod] = field(default_factory=list)
    movable: list[Pod] = field(default_factory=list)
    pending: list[Pod] = field(default_factory=list)
    unplanned: list[tuple[Pod, str]] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)  # immovable pods per eviction rule id

    @property
    def plannable(self) -> list[Pod]:
        """The pods the solvers place or move, pending first: the order classes are made in."""
        return self.pending + self.movable


def sort_pods(
    pods: Iterable[Pod],
    node_index: Mapping[str, int],
    policy: movability.EvictionPolicy,
    budgets: BudgetIndex,
) -> SortedPods:
    out = SortedPods()
    for pod in pods:
        if pod.bound:
            if pod.node_name not in node_index:
                continue  # bound to a node outside the snapshot: it holds nothing we plan with
            reason = movability.immovable_reason(pod, policy, budgets.names(pod))
            (out.fixed if reason else out.movable).append(pod)
            if reason:
                out.kept[reason.split(":", 1)[0]] += 1
        elif pod.terminating:
            continue
        elif pod.scheduler_name not in policy.scheduler_names:
            served = ", ".join(sorted(policy.scheduler_names))
            why = f"scheduled by {pod.scheduler_name}, not by {served}"
            out.unplanned.append((pod, why))
        elif pod.unmodelled:
            why = f"has {pod.unmodelled}, which the planner does not model yet"
            out.unplanned.append((pod, why))
        else:
            out.pending.append(pod)
    return out


def demand(pod: Pod) -> dict[str, int]:
    """``Pod.demand()`` plus one of each host port it binds (a resource of one per node).

    A hostIP other than 0.0.0.0 could share a port with another IP; treating all IPs as one
    conflicts more often than kube-scheduler does, never less, so plans stay valid.
    """
    needs = pod.demand()
    for port in pod.host_ports:
        needs[f"hostport/{port.protocol}/{port.port}"] = 1
    return needs


class Demands:
    """``demand`` once per distinct (requests, host ports): replicas share one dict, which
    callers must not change, and one resource vector per resource tuple."""

    def __init__(self) -> None:
        self._needs: dict[tuple[object, ...], dict[str, int]] = {}
        self._vectors: dict[int, tuple[dict[str, int], tuple[int, ...]]] = {}

    def of(self, pod: Pod) -> dict[str, int]:
        key = (pod.requests, pod.host_ports)
        found = self._needs.get(key)
        if found is None:
            found = self._needs[key] = demand(pod)
        return found

    def vector(self, needs: dict[str, int], resources: Sequence[str]) -> tuple[int, ...]:
        """``needs`` per resource of ``resources`` (always the same tuple in one build)."""
        found = self._vectors.get(id(needs))
        if found is None or found[0] is not needs:
            found = self._vectors[id(needs)] = (
                needs,
                tuple(needs.get(name, 0) for name in resources),
            )
        return found[1]


Usage = list[Counter[str]]
"""Per node, what pods there take (``demand``)."""


def node_usage(
    nodes: Sequence[Node],
    node_index: Mapping[str, int],
    pods: SortedPods,
    demands: Demands | None = None,
) -> tuple[Usage, Usage]:
    """Per node, what all bound pods take, and what the immovable ones take."""
    of = (demands or Demands()).of
    usage: Usage = [Counter() for _ in nodes]
    fixed_usage: Usage = [Counter() for _ in nodes]
    # Replicas share one demand dict: add each (node, demand) once, times its pods.
    by_id: dict[int, dict[str, int]] = {}

    def tally(group: Sequence[Pod]) -> Counter[tuple[int, int]]:
        table: Counter[tuple[int, int]] = Counter()
        for pod in group:
            needs = of(pod)
            by_id[id(needs)] = needs
            table[node_index[pod.node_name or ""], id(needs)] += 1
        return table

    fixed, movable = tally(pods.fixed), tally(pods.movable)
    for table, targets in ((fixed, (usage, fixed_usage)), (movable, (usage,))):
        for (node, needs_id), k in table.items():
            needs = by_id[needs_id]
            for target in targets:
                row = target[node]
                for name, amount in needs.items():
                    row[name] += amount * k
    return usage, fixed_usage


def node_slots(
    nodes: Sequence[Node], usage: Usage, fixed_usage: Usage, resources: Sequence[str]
) -> tuple[NodeSlot, ...]:
    ports = [name for name in resources if name.startswith("hostport/")]
    slots = []
    for i, node in enumerate(nodes):
        allocatable = {**node.allocatable.as_dict(), **dict.fromkeys(ports, 1)}
        # A node already over its allocatable keeps its current pods: the current placement must
        # stay a solution, or "never worse than doing nothing" would not hold (a pod lands there
        # only within the allocatable: ``strict_capacity``).
        capacity = tuple(
            max(allocatable.get(name, 0), usage[i][name]) - fixed_usage[i][name]
            for name in resources
        )
        slots.append(NodeSlot(index=i, name=node.name, capacity=capacity))
    return tuple(slots)


def _summarise(reasons: Iterable[str], total: int) -> str:
    counts = Counter(reasons)
    parts = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
    return f"0/{total} nodes are available: {parts}"


def inter_pod(cluster: Cluster, pods: SortedPods, node_sets: NodeSets) -> InterPod:
    namespaces: dict[str, LabelItems] = {ns.name: ns.labels for ns in cluster.namespaces}
    return InterPod(cluster.nodes, pods.fixed, pods.plannable, node_sets, namespaces)


def strict_capacity(
    nodes: Sequence[Node], usage: Usage, fixed_usage: Usage, resources: Sequence[str]
) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """For each node whose running pods already request more than it allocates, the room the
    classes' pods have there once any pod lands: kube-scheduler's NodeResourcesFit admits a pod
    only if everything then on the node fits its allocatable (after the evictions, which come
    first), while the current placement (over it) must stay a solution."""
    ports = [name for name in resources if name.startswith("hostport/")]
    found = []
    for i, node in enumerate(nodes):
        over = any(
            amount > node.allocatable.get(name)
            for name, amount in usage[i].items()
            if not name.startswith("hostport/")
        )
        if over:
            allocatable = {**node.allocatable.as_dict(), **dict.fromkeys(ports, 1)}
            found.append(
                (i, tuple(allocatable.get(name, 0) - fixed_usage[i][name] for name in resources))
            )
    return tuple(found)


def eligible_nodes(
    cluster: Cluster, pods: SortedPods, node_sets: NodeSets, inter: InterPod
) -> tuple[list[NodeSetId], list[tuple[str, str]]]:
    """Per plannable pod, the set of nodes it may newly land on; and (pod key, kube-scheduler's
    summary of why) for each pending pod that has none."""
    filters = StaticFilters(cluster.nodes, node_sets)
    eligible: list[NodeSetId] = []
    pending_reasons: list[tuple[str, str]] = []
    for pod in pods.plannable:
        passing, reasons = filters.nodes_for(pod)
        allowed, closed = inter.prune(pod, passing)
        if not pod.bound and not node_sets[allowed]:
            pending_reasons.append((pod.key, _summarise(reasons + closed, len(cluster.nodes))))
        eligible.append(allowed)
    return eligible, pending_reasons


ClassKey = tuple[int, tuple[int, ...], NodeSetId, tuple[int, ...], Signature]
"""(priority, demand vector, eligible node set, covering budgets, inter-pod signature): what
makes pods one class."""


def pod_classes(
    pods: Sequence[Pod],
    vectors: Sequence[tuple[int, ...]],
    eligible: Sequence[NodeSetId],
    covers: Callable[[Pod], tuple[int, ...]],
    node_sets: NodeSets,
    node_index: Mapping[str, int],
    signature: Callable[[Pod], Signature] = lambda pod: Signature(preempts=pod.preempts),
) -> tuple[tuple[PodClass, ...], tuple[ClassMembers, ...], tuple[Signature, ...]]:
    groups: dict[ClassKey, tuple[list[Pod], dict[int, list[Pod]]]] = {}
    for pod, vector, allowed in zip(pods, vectors, eligible, strict=True):
        pend, run = groups.setdefault(
            (pod.priority, vector, allowed, covers(pod), signature(pod)), ([], defaultdict(list))
        )
        if pod.bound:
            run[node_index[pod.node_name or ""]].append(pod)
        else:
            pend.append(pod)
    classes = []
    members = []
    signatures = []
    for index, (key, (pend, run)) in enumerate(groups.items()):
        priority, vector, allowed, covering, sig = key
        signatures.append(sig)
        running = sorted(run.items())
        classes.append(
            PodClass(
                index=index,
                priority=priority,
                demand=vector,
                eligible=node_sets[allowed],
                pending_count=len(pend),
                running=tuple((node, len(on_node)) for node, on_node in running),
                budgets=covering,
                preempts=sig.preempts,
            )
        )
        members.append(
            ClassMembers(
                pending=tuple(sorted(pend, key=lambda p: p.key)),
                running=tuple(
                    (node, tuple(sorted(on_node, key=lambda p: p.key))) for node, on_node in running
                ),
            )
        )
    return tuple(classes), tuple(members), tuple(signatures)


def build(
    cluster: Cluster,
    *,
    policy: movability.EvictionPolicy = movability.DEFAULT_POLICY,
    max_disruptions: int | None = None,
) -> Problem:
    """The packing problem of ``cluster`` (``model.problem.build_problem`` calls this)."""
    node_index = {node.name: i for i, node in enumerate(cluster.nodes)}
    budgets = BudgetIndex(cluster.budgets)
    pods = sort_pods(cluster.pods, node_index, policy, budgets)
    plannable = pods.plannable
    shared = Demands()
    demands = [shared.of(pod) for pod in plannable]
    # Resource dimensions: whatever a plannable pod asks for; the rest only shrinks capacity.
    resources = tuple(sorted({name for needs in demands for name in needs}))
    node_sets = NodeSets()
    inter = inter_pod(cluster, pods, node_sets)
    usage, fixed_usage = node_usage(cluster.nodes, node_index, pods, shared)
    eligible, pending_reasons = eligible_nodes(cluster, pods, node_sets, inter)
    vectors = [shared.vector(needs, resources) for needs in demands]
    classes, members, signatures = pod_classes(
        plannable, vectors, eligible, budgets.covering, node_sets, node_index, inter.signature
    )
    topologies, anti, spread, affinity = inter.groups(classes, signatures)
    slots = node_slots(cluster.nodes, usage, fixed_usage, resources)
    fixed_counts = Counter(pod.priority for pod in pods.fixed)
    logger.debug(
        "problem: %d nodes, %d classes, %d resources, %d fixed pods",
        len(slots),
        len(classes),
        len(resources),
        len(pods.fixed),
    )
    return Problem(
        resources=resources,
        nodes=slots,
        classes=classes,
        budget_limits=budget_limits(cluster.budgets),
        budget_names=tuple(f"{b.namespace}/{b.name}" for b in cluster.budgets),
        max_disruptions=max_disruptions,
        fixed_by_priority=tuple(sorted(fixed_counts.items(), reverse=True)),
        unplanned=tuple(pods.unplanned),
        pending_reasons=tuple(pending_reasons),
        members=tuple(members),
        kept=tuple(sorted(pods.kept.items())),
        topologies=topologies,
        inexact=tuple(sorted(inter.inexact)),
        strict_capacity=strict_capacity(cluster.nodes, usage, fixed_usage, resources),
        anti_affinity=anti,
        spread=spread,
        affinity=affinity,
    )
