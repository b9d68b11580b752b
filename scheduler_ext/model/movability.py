"""Which running pods a plan may move or evict, and how many disruptions each budget allows.

A move is an eviction whose replacement lands elsewhere, so a pod is movable only when three
parties agree. Its controller must recreate it somewhere else: an explicit set of owner kinds
(``EvictionPolicy.movable_owner_kinds``; ReplicaSet and StatefulSet by default, a Job or a custom
controller only if the operator says so). The scheduler this service serves must place the
replacement. And the Eviction API must let it go: never a pod under two PodDisruptionBudgets, never
more than a budget allows. Around those, the rules the trusted evictors agree on (descheduler's
DefaultEvictor, cluster-autoscaler, Karpenter): no mirror, DaemonSet, terminating or system pods,
every opt-out annotation honoured, no data lost unless the operator allows it.

Every rule has a short stable id, the first word of the reason it reports
(``owner-kind: ...``); ``docs/eviction-rules.md`` lists each with the evictor it follows and the
setting that switches it. Where the Eviction API is more lenient than these rules (pods not
Running, unready pods under ``unhealthyPodEvictionPolicy``) the planner does not count on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scheduler_ext.domain import (
    BUILTIN_PRIORITY_CLASSES,
    DEFAULT_SCHEDULER,
    SYSTEM_CRITICAL_PRIORITY,
    DisruptionBudget,
    OwnerRef,
    Pod,
)

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
PREFER_NO_EVICTION = "descheduler.alpha.kubernetes.io/prefer-no-eviction"
PROTECTED_NAMESPACE = "kube-system"

DEFAULT_MOVABLE_OWNER_KINDS = frozenset({"ReplicaSet", "StatefulSet"})
"""Controllers that recreate a deleted pod, unchanged, wherever the scheduler puts it. A Job's
controller recreates it too, but the deleted pod counts as a failure against ``backoffLimit`` and
its work starts over; a custom controller may not recreate it at all: both only by opt-in."""
OWN_KIND_GROUPS = {
    "ReplicaSet": "apps",
    "StatefulSet": "apps",
    "DaemonSet": "apps",
    "Deployment": "apps",
    "Job": "batch",
    "CronJob": "batch",
    "ReplicationController": "",
    "Node": "",
}
"""The API group of Kubernetes' own controllers of each kind: a ``ReplicaSet`` of another group
(``example.com/v1``) is a custom controller, named ``ReplicaSet.example.com`` (rule
``owner-kind``)."""
UNMOVABLE_OWNER_KINDS = frozenset({"DaemonSet", "Node"})
"""Owners whose pods no setting makes movable (rules ``daemonset`` and ``mirror-pod``)."""

MAX_DISRUPTED_POD_SIZE = 2000
"""``MaxDisruptedPodSize`` (eviction.go): over this many unconfirmed evictions, a budget refuses."""

RULES = (
    "mirror-pod",
    "daemonset",
    "terminating",
    "kube-system",
    "system-critical",
    "no-controller",
    "owner-kind",
    "other-scheduler",
    "safe-to-evict",
    "do-not-disrupt",
    "prefer-no-eviction",
    "local-storage",
    "pvc",
    "two-budgets",
    "unmodelled",
)
"""The ids of the per-pod rules, in the order they are tried: the first that applies is told."""
BUDGET_RULES = ("budget-allowance", "stale-budget", "budget-backlog", "max-disruptions")
"""The ids of the rules on how many pods may be disrupted (``budget_allowance``, the global cap)."""


@dataclass(frozen=True)
class EvictionPolicy:
    """The operator's switches over the rules (``planning/options.py`` holds their settings)."""

    movable_owner_kinds: frozenset[str] = DEFAULT_MOVABLE_OWNER_KINDS
    allow_local_storage: bool = False
    allow_pvc: bool = False
    scheduler_names: frozenset[str] = frozenset({DEFAULT_SCHEDULER})
    """The schedulers the planner places pods for (``PlanOptions.scheduler_names``)."""


DEFAULT_POLICY = EvictionPolicy()


def owner_kind_name(owner: OwnerRef) -> str:
    """How ``movable_owner_kinds`` names the owner's kind: the bare kind for Kubernetes' own
    controllers (and owners whose apiVersion is not stated) and for kinds Kubernetes has no
    controller of; ``Kind.group`` for a kind Kubernetes has, served by another group."""
    group = owner.group
    own = OWN_KIND_GROUPS.get(owner.kind)
    if group is None or own is None or group == own:
        return owner.kind
    return f"{owner.kind}.{group}"


def _movable_kind(owner: OwnerRef, kinds: frozenset[str]) -> bool:
    """Is the owner's kind listed: by ``owner_kind_name``, or, for a kind Kubernetes has no
    controller of, by ``Kind.group`` too?"""
    name = owner_kind_name(owner)
    return name in kinds or (bool(owner.group) and f"{owner.kind}.{owner.group}" in kinds)


def _critical(pod: Pod) -> bool:
    return (
        pod.priority >= SYSTEM_CRITICAL_PRIORITY
        or pod.priority_class_name in BUILTIN_PRIORITY_CLASSES  # the system-critical ones
    )


def _opted_out(annotations: dict[str, str]) -> str | None:
    """The rule and detail of an opt-out annotation, if the pod carries one."""
    if annotations.get(SAFE_TO_EVICT) == "false":
        return f'safe-to-evict: annotated {SAFE_TO_EVICT}: "false"'
    if annotations.get(DO_NOT_DISRUPT) == "true":
        return f'do-not-disrupt: annotated {DO_NOT_DISRUPT}: "true"'
    if PREFER_NO_EVICTION in annotations:
        return f"prefer-no-eviction: annotated {PREFER_NO_EVICTION}"
    return None


def immovable_reason(
    pod: Pod, policy: EvictionPolicy = DEFAULT_POLICY, budgets: Sequence[str] = ()
) -> str | None:
    """Why ``pod`` must stay where it is, as ``rule-id: detail``; None if a plan may move it.

    ``budgets`` names the PodDisruptionBudgets covering the pod. The first rule that applies is
    reported, most fundamental first.
    """
    owner_kind = pod.owner.kind if pod.owner is not None else None
    annotations = dict(pod.annotations) if pod.annotations else {}
    if owner_kind == "Node" or MIRROR_ANNOTATION in annotations:
        return "mirror-pod: static (mirror) pod: the kubelet owns it"
    if owner_kind == "DaemonSet":
        return "daemonset: DaemonSet pod: its controller recreates it on the same node"
    if pod.terminating:
        return "terminating: already being deleted"
    if pod.namespace == PROTECTED_NAMESPACE:
        return f"kube-system: in namespace {PROTECTED_NAMESPACE}"
    if _critical(pod):
        return "system-critical: system-critical priority"
    if pod.owner is None:
        return "no-controller: no controller owner: it would be lost"
    if not _movable_kind(pod.owner, policy.movable_owner_kinds):
        kinds = ",".join(sorted(policy.movable_owner_kinds))
        name = owner_kind_name(pod.owner)
        return f"owner-kind: owned by a {name}, not a movable owner kind ({kinds})"
    if pod.scheduler_name not in policy.scheduler_names:
        return (
            f"other-scheduler: placed by {pod.scheduler_name}, which would also place its "
            f"replacement, not {', '.join(sorted(policy.scheduler_names))}"
        )
    opted_out = _opted_out(annotations) if annotations else None
    if opted_out is not None:
        return opted_out
    if pod.local_storage and not policy.allow_local_storage:
        return "local-storage: uses emptyDir or hostPath: its data would be lost"
    if pod.volume_claims and not policy.allow_pvc:
        claims = ", ".join(pod.volume_claims)
        return f"pvc: has {claims}: where the volume attaches is not known"
    if len(budgets) > 1:
        # eviction.go (Create): "This pod has more than one PodDisruptionBudget, which the
        # eviction subresource does not support." (500), whatever each budget allows.
        return (
            f"two-budgets: covered by {len(budgets)} PodDisruptionBudgets "
            f"({', '.join(budgets)}): the Eviction API refuses to evict it"
        )
    if pod.unmodelled:
        return f"unmodelled: has {pod.unmodelled}; never moved"
    return None


def budget_allowance(budget: DisruptionBudget) -> int:
    """How many of the pods ``budget`` covers the Eviction API would let a plan disrupt.

    ``checkAndDecrement`` in pkg/registry/core/pod/storage/eviction.go: a status older than the
    spec (``observedGeneration < generation``) answers 429 (rule ``stale-budget``); a negative
    ``disruptionsAllowed`` 403, zero 429 (``budget-allowance``); more than
    ``MaxDisruptedPodSize`` unconfirmed evictions 403, and each eviction adds one
    (``budget-backlog``). Pods the API lets through without a budget (not Running, terminating,
    unready under ``unhealthyPodEvictionPolicy``) are counted all the same: that only leaves
    room unused.
    """
    if budget.observed_generation < budget.generation:
        return 0
    backlog_room = MAX_DISRUPTED_POD_SIZE + 1 - budget.disrupted_pods
    return max(0, min(budget.disruptions_allowed, backlog_room))
