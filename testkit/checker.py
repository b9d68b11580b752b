"""An independent checker for PackingPlans: is the plan feasible, safe, and honest about its counts?

It re-derives every rule from the domain fields alone and deliberately imports nothing from
``scheduler_ext.model`` or ``scheduler_ext.planning``: a bug shared by the planner and its own
helpers must not be able to hide here. ``check_plan`` reads the plan in its wire form (the
``PackingPlan`` dictionary of ``render.plan_to_dict``), turns it into a final placement and
raises ``AssertionError`` naming the first broken rule. The brute force (``testkit/bruteforce.py``)
reuses the per-rule functions below to enumerate feasible placements. Label and node matching
live in ``testkit/matching.py``, the inter-pod filters in ``testkit/interpod.py``.

Rules (see the planner contract):

- A binding places a pending pod; a move takes a bound pod to another node; an eviction removes a
  bound pod. Each pod appears at most once in the plan.
- A pod landing on a node (binding or move target) needs a Ready, schedulable node (unless it
  tolerates the not-ready / unschedulable taints, as in Kubernetes) whose
  NoSchedule/NoExecute taints it tolerates, its nodeSelector and required node affinity, and no
  host-port clash with the pods finally there.
- Inter-pod rules (``testkit/interpod.py``): required pod affinity and anti-affinity (the pod's
  own terms and running pods' terms against it) and DoNotSchedule topology spread, decided as
  kube-scheduler's InterPodAffinity and PodTopologySpread filters decide them, pod by pod in an
  execution order: evictions (and moved pods' old copies) first, then the arriving pods in some
  order the executor could follow; that module's docstring gives the order and the rules. A plan
  that states its ``landingOrder`` (``status.diagnostics``) must pass in that order.
- Preemption policy: a pod with ``preempts=False`` (preemptionPolicy Never) never lands (bound,
  or as a moved pod's replacement) in a plan that evicts, without a new home, a pod of lower
  priority (kube-scheduler never preempts for it; the model encodes exactly this conservative
  rule).
- Every node that receives a pod fits its final pods: requests per resource and pod count.
- Moved or evicted pods must be disruptable (not mirror, DaemonSet, bare, terminating,
  kube-system, system-critical, of a controller kind not allowed to move, of another scheduler,
  local-storage or claims unless allowed, under two budgets, or opted out by annotation).
- Disruption budgets (none while their status is stale) and ``max_disruptions`` cap moves plus
  evictions.
- Objective: placed pods per priority (highest first), then fewer disturbed pods, then fewer
  evictions. The plan's ``placedByPriority`` and ``improves`` must match the recomputation, and the
  plan must never be lexicographically worse than doing nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scheduler_ext.domain import PODS, Cluster, DisruptionBudget, Node, Pod, Taint
from testkit import disruption
from testkit.interpod import plan_violation, stated_order_violation
from testkit.matching import (
    node_term_matches,
    selector_matches,
    tolerates,
)

DEFAULT_SCHEDULER = "default-scheduler"
MOVABLE_OWNER_KINDS = disruption.MOVABLE_OWNER_KINDS
budget_allowance = disruption.budget_allowance
SOLVERS = frozenset({"cpsat", "neighbourhood", "greedy", "aco", "rl", "none"})
UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
NOT_READY_TAINT = Taint("node.kubernetes.io/not-ready", "", "NoSchedule")

Placement = Mapping[str, str | None]
"""Pod key -> the node it finally runs on, or None when it ends (or stays) unplaced."""


@dataclass(frozen=True)
class CheckResult:
    priorities: tuple[int, ...]
    """Every pod priority in the cluster, highest first."""
    before: tuple[int, ...]
    """Placed pods per priority in the current placement."""
    after: tuple[int, ...]
    """Placed pods per priority once the plan is carried out."""
    disturbed: int
    """Running pods moved or evicted."""
    evictions: int

    @property
    def objective(self) -> tuple[int, ...]:
        """Larger is better, compared lexicographically."""
        return (*self.after, -self.disturbed, -self.evictions)

    @property
    def improves(self) -> bool:
        return self.after > self.before

    def gained(self) -> dict[int, int]:
        return {p: a - b for p, b, a in zip(self.priorities, self.before, self.after, strict=True)}


# --- single-pod rules -------------------------------------------------------------------------


def immovable_reason(
    pod: Pod,
    *,
    allow_local_storage: bool = False,
    allow_pvc: bool = False,
    movable_owner_kinds: frozenset[str] = MOVABLE_OWNER_KINDS,
    budgets: Sequence[DisruptionBudget] = (),
) -> str | None:
    """Why a bound pod must not be moved or evicted, or None (``testkit/disruption.py``).

    ``budgets`` are the cluster's disruption budgets; without them the rule that refuses a pod
    under two budgets cannot apply.
    """
    covering = [f"{b.namespace}/{b.name}" for b in budgets if budget_covers(b, pod)]
    return disruption.immovable_reason(
        pod,
        allow_local_storage=allow_local_storage,
        allow_pvc=allow_pvc,
        movable_owner_kinds=movable_owner_kinds,
        covering=covering,
    )


def unbindable_reason(pod: Pod) -> str | None:
    """Why a pending pod must not be bound by the planner, or None when it may be."""
    if pod.unmodelled:
        return f"unmodelled ({pod.unmodelled})"
    if pod.terminating:
        return "terminating"
    if pod.scheduler_name != DEFAULT_SCHEDULER:
        return f"belongs to scheduler {pod.scheduler_name}"
    return None


def node_rejects(pod: Pod, node: Node) -> str | None:
    """Why ``pod`` may not newly land on ``node`` (node-level predicates only), or None."""
    # kube-scheduler's NodeUnschedulable filter and the node lifecycle controller's not-ready
    # taint: both keep out every pod that does not tolerate them (DaemonSet pods usually do).
    if not node.ready and not any(tolerates(t, NOT_READY_TAINT) for t in pod.tolerations):
        return f"node {node.name} is not Ready"
    if node.unschedulable and not any(tolerates(t, UNSCHEDULABLE_TAINT) for t in pod.tolerations):
        return f"node {node.name} is unschedulable"
    for taint in node.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not any(
            tolerates(t, taint) for t in pod.tolerations
        ):
            return f"untolerated taint {taint.key}={taint.value}:{taint.effect} on {node.name}"
    labels = dict(node.labels)
    for key, value in pod.node_selector:
        if labels.get(key) != value:
            return f"nodeSelector {key}={value} does not match {node.name}"
    if pod.required_node_affinity and not any(
        node_term_matches(term, node) for term in pod.required_node_affinity
    ):
        return f"required node affinity does not match {node.name}"
    return None


def capacity_violation(node: Node, pods: Iterable[Pod]) -> str | None:
    """Why ``pods`` together do not fit ``node``'s allocatable, or None."""
    total: Counter[str] = Counter()
    count = 0
    for pod in pods:
        count += 1
        for name, amount in pod.requests.amounts:
            total[name] += amount
    if count > node.allocatable.get(PODS):
        return f"node {node.name}: {count} pods > allocatable pods {node.allocatable.get(PODS)}"
    for name, amount in sorted(total.items()):
        if amount > node.allocatable.get(name):
            return f"node {node.name}: {name} {amount} > allocatable {node.allocatable.get(name)}"
    return None


def port_conflict(pods: Iterable[Pod]) -> str | None:
    """A host port (protocol and port) used by two of ``pods``, or None."""
    seen: dict[tuple[str, int], str] = {}
    for pod in pods:
        for hp in {(hp.protocol or "TCP", hp.port) for hp in pod.host_ports}:
            if hp in seen:
                return f"host port {hp[1]}/{hp[0]} used by {seen[hp]} and {pod.key}"
            seen[hp] = pod.key
    return None


def budget_covers(budget: DisruptionBudget, pod: Pod) -> bool:
    return (
        budget.selector is not None
        and pod.namespace == budget.namespace
        and selector_matches(budget.selector, pod.labels)
    )


def interpod_violation(cluster: Cluster, final: Placement, arrived: Iterable[str]) -> str | None:
    """InterPodAffinity and PodTopologySpread for the pods that newly land, in an execution
    order the executor could follow (``testkit/interpod.py``), or None."""
    return plan_violation(cluster, final, arrived)


def preemption_violation(cluster: Cluster, final: Placement) -> str | None:
    """A pod that may not preempt (``preempts=False``, preemptionPolicy Never) landing (bound,
    or a moved pod's replacement) in a plan that evicts, without a new home, a pod of lower
    priority: the eviction could be for it, and kube-scheduler never preempts for such a pod
    (``DefaultPreemption.PodEligibleToPreemptOthers``). Conservative, as the model encodes it:
    the eviction might be for another, preempting pod; moves keep every pod running and are
    allowed."""
    evicted = [p for p in cluster.pods if p.node_name is not None and final.get(p.key) is None]
    if not evicted:
        return None
    lowest = min(evicted, key=lambda p: p.priority)
    for pod in cluster.pods:
        target = final.get(pod.key)
        lands = target is not None and target != pod.node_name
        if lands and not pod.preempts and lowest.priority < pod.priority:
            return (
                f"{pod.key} (preemptionPolicy Never, priority {pod.priority}) lands while "
                f"{lowest.key} (priority {lowest.priority}) is evicted"
            )
    return None


# --- whole placements ------------------------------------------------------------------------


def current_placement(cluster: Cluster) -> dict[str, str | None]:
    return {pod.key: pod.node_name for pod in cluster.pods}


def priorities_of(cluster: Cluster) -> tuple[int, ...]:
    return tuple(sorted({pod.priority for pod in cluster.pods}, reverse=True))


def placed_counts(cluster: Cluster, final: Placement) -> tuple[int, ...]:
    placed = Counter(pod.priority for pod in cluster.pods if final.get(pod.key) is not None)
    return tuple(placed[p] for p in priorities_of(cluster))


def validate_placement(
    cluster: Cluster,
    final: Placement,
    *,
    max_disruptions: int | None = None,
    allow_local_storage: bool = False,
    allow_pvc: bool = False,
    movable_owner_kinds: frozenset[str] = MOVABLE_OWNER_KINDS,
) -> CheckResult:
    """Check a final placement against the cluster's current one; raise AssertionError if broken."""
    nodes = {node.name: node for node in cluster.nodes}
    arrived: list[Pod] = []
    disturbed: list[Pod] = []
    evicted = 0
    for pod in cluster.pods:
        assert pod.key in final, f"{pod.key} missing from the placement"
        target = final[pod.key]
        if target == pod.node_name:
            continue
        if pod.node_name is None:
            reason = unbindable_reason(pod)
            assert reason is None, f"{pod.key} bound although {reason}"
        else:
            reason = immovable_reason(
                pod,
                allow_local_storage=allow_local_storage,
                allow_pvc=allow_pvc,
                movable_owner_kinds=movable_owner_kinds,
                budgets=cluster.budgets,
            )
            assert reason is None, f"{pod.key} moved or evicted although {reason}"
            disturbed.append(pod)
            evicted += target is None
        if target is not None:
            assert target in nodes, f"{pod.key} placed on unknown node {target}"
            reason = node_rejects(pod, nodes[target])
            assert reason is None, f"{pod.key} cannot land: {reason}"
            arrived.append(pod)

    by_node: dict[str, list[Pod]] = defaultdict(list)
    for pod in cluster.pods:
        target = final[pod.key]
        if target is not None:
            by_node[target].append(pod)
    for name in sorted({final[p.key] or "" for p in arrived}):
        problem = capacity_violation(nodes[name], by_node[name]) or port_conflict(by_node[name])
        assert problem is None, f"infeasible: {problem}"
    problem = interpod_violation(cluster, final, [p.key for p in arrived])
    assert problem is None, f"infeasible: {problem}"
    problem = preemption_violation(cluster, final)
    assert problem is None, f"preemption policy: {problem}"

    for budget in cluster.budgets:
        hit = [p.key for p in disturbed if budget_covers(budget, p)]
        allowed = budget_allowance(budget)
        assert len(hit) <= allowed, (
            f"PDB {budget.namespace}/{budget.name} allows {allowed} "
            f"disruptions, plan disrupts {len(hit)}: {hit}"
        )
    if max_disruptions is not None:
        assert len(disturbed) <= max_disruptions, (
            f"{len(disturbed)} disruptions > max_disruptions {max_disruptions}"
        )

    return CheckResult(
        priorities=priorities_of(cluster),
        before=placed_counts(cluster, current_placement(cluster)),
        after=placed_counts(cluster, final),
        disturbed=len(disturbed),
        evictions=evicted,
    )


# --- plans -----------------------------------------------------------------------------------


def _entries(spec: Mapping[str, Any], field: str) -> Sequence[Mapping[str, Any]]:
    value = spec.get(field, [])
    assert isinstance(value, list), f"spec.{field} is not a list"
    for entry in value:
        assert isinstance(entry, dict), f"spec.{field} has a non-object entry {entry!r}"
    return value


def plan_placement(cluster: Cluster, plan: Mapping[str, Any]) -> dict[str, str | None]:
    """The final placement a plan describes; asserts the plan is well-formed for this cluster."""
    assert plan.get("apiVersion") == "scheduler-ext.io/v1alpha1", "wrong apiVersion"
    assert plan.get("kind") == "PackingPlan", "wrong kind"
    spec = plan["spec"]
    pods = {pod.key: pod for pod in cluster.pods}
    assert len(pods) == len(cluster.pods), "duplicate pod keys in the cluster"
    nodes = {node.name for node in cluster.nodes}
    final = current_placement(cluster)
    touched: set[str] = set()

    def take(key: str, what: str) -> Pod:
        assert key in pods, f"{what}: unknown pod {key}"
        assert key not in touched, f"{what}: {key} appears more than once in the plan"
        touched.add(key)
        return pods[key]

    for b in _entries(spec, "bindings"):
        pod = take(b["pod"], "binding")
        assert pod.node_name is None, f"binding of {pod.key}, already bound to {pod.node_name}"
        assert b["node"] in nodes, f"binding of {pod.key} to unknown node {b['node']}"
        final[pod.key] = b["node"]
    for m in _entries(spec, "moves"):
        pod = take(m["pod"], "move")
        assert pod.node_name is not None, f"move of pending pod {pod.key}"
        assert m["fromNode"] == pod.node_name, (
            f"move of {pod.key} from {m['fromNode']}, but it runs on {pod.node_name}"
        )
        assert m["toNode"] != pod.node_name, f"move of {pod.key} to the node it is on"
        assert m["toNode"] in nodes, f"move of {pod.key} to unknown node {m['toNode']}"
        final[pod.key] = m["toNode"]
    for e in _entries(spec, "evictions"):
        pod = take(e["pod"], "eviction")
        assert pod.node_name is not None, f"eviction of pending pod {pod.key}"
        assert e["node"] == pod.node_name, (
            f"eviction of {pod.key} from {e['node']}, but it runs on {pod.node_name}"
        )
        final[pod.key] = None

    unplanned = set()
    for u in _entries(spec, "unplanned"):
        key = u["pod"]
        assert key in pods, f"unplanned: unknown pod {key}"
        assert pods[key].node_name is None, f"unplanned pod {key} is bound"
        assert key not in touched, f"{key} is both planned and unplanned"
        assert isinstance(u.get("reason"), str), f"unplanned {key} has no reason"
        assert u["reason"], f"unplanned {key} has an empty reason"
        unplanned.add(key)
    for pod in cluster.pods:
        # A terminating pending pod is going away: nothing plans it, nor lists it.
        waiting = pod.node_name is None and not pod.terminating
        if waiting and pod.unmodelled and pod.key not in touched:
            assert pod.key in unplanned, f"pending unmodelled pod {pod.key} missing from unplanned"
    return final


def check_status(result: CheckResult, status: Mapping[str, Any]) -> None:
    """The plan's status must state what the recomputation finds."""
    assert status.get("solver") in SOLVERS, f"unknown solver {status.get('solver')!r}"
    assert isinstance(status.get("optimal"), bool), "status.optimal is not a bool"
    wall = status.get("wallSeconds")
    assert isinstance(wall, int | float), f"bad wallSeconds {wall!r}"
    assert wall >= 0, f"negative wallSeconds {wall!r}"
    tiers = status.get("placedByPriority")
    assert isinstance(tiers, list), "status.placedByPriority is not a list"
    listed = [t["priority"] for t in tiers]
    assert listed == sorted(set(listed), reverse=True), (
        f"placedByPriority not strictly descending: {listed}"
    )
    expected = {
        p: (b, a) for p, b, a in zip(result.priorities, result.before, result.after, strict=True)
    }
    for tier in tiers:
        want = expected.get(tier["priority"], (0, 0))
        got = (tier["before"], tier["after"])
        assert got == want, (
            f"priority {tier['priority']}: plan says before/after {got}, recomputed {want}"
        )
    for priority, (b, a) in expected.items():
        assert priority in listed or (b == 0 and a == 0), (
            f"priority {priority} (before {b}, after {a}) missing from placedByPriority"
        )
    assert result.after >= result.before, (
        f"plan is worse than the current placement: before {result.before}, after {result.after}"
        f" (priorities {result.priorities})"
    )
    assert status.get("improves") is result.improves, (
        f"status.improves is {status.get('improves')}, recomputed {result.improves}"
    )


def check_plan(
    cluster: Cluster,
    plan: Mapping[str, Any],
    *,
    max_disruptions: int | None = None,
    allow_local_storage: bool = False,
    allow_pvc: bool = False,
    movable_owner_kinds: frozenset[str] = MOVABLE_OWNER_KINDS,
) -> CheckResult:
    """Verify a plan dictionary against ``cluster``; raise AssertionError on the first violation."""
    final = plan_placement(cluster, plan)
    result = validate_placement(
        cluster,
        final,
        max_disruptions=max_disruptions,
        allow_local_storage=allow_local_storage,
        allow_pvc=allow_pvc,
        movable_owner_kinds=movable_owner_kinds,
    )
    check_status(result, plan["status"])
    stated = plan["status"].get("diagnostics", {}).get("landingOrder")
    if stated is not None:
        spec = plan["spec"]
        arrived = [m["pod"] for m in spec["moves"]] + [b["pod"] for b in spec["bindings"]]
        problem = stated_order_violation(cluster, final, arrived, stated["pods"])
        assert problem is None, problem
    return result
