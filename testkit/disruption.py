"""The independent checker's rules on which running pods may be disrupted, and how many.

Part of ``testkit/checker.py`` (which re-exports these), kept apart only for size. Like the rest of
the checker it re-derives every rule from the domain fields and imports nothing from
``scheduler_ext.model``: ``model/movability.py`` states the same rules for the planner, and a bug
in one cannot hide in the other. The rule list, with the evictors each follows, is in
docs/eviction-rules.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler_ext.domain import DisruptionBudget, OwnerRef, Pod

SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
SYSTEM_CRITICAL_CLASSES = frozenset({"system-cluster-critical", "system-node-critical"})
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
PREFER_NO_EVICTION = "descheduler.alpha.kubernetes.io/prefer-no-eviction"
SERVED_SCHEDULER = "default-scheduler"
MOVABLE_OWNER_KINDS = frozenset({"ReplicaSet", "StatefulSet"})
"""The controllers that recreate a deleted pod elsewhere, unless a test says otherwise."""
KUBERNETES_CONTROLLERS = {
    "ReplicaSet": "apps",
    "StatefulSet": "apps",
    "DaemonSet": "apps",
    "Deployment": "apps",
    "Job": "batch",
    "CronJob": "batch",
    "ReplicationController": "",
    "Node": "",
}
"""Kubernetes' own controller kinds and their API groups: the same kind of any other group is a
custom controller's, listed as ``Kind.group``."""
MAX_DISRUPTED_PODS = 2000
"""``MaxDisruptedPodSize`` of pkg/registry/core/pod/storage/eviction.go."""


def immovable_reason(
    pod: Pod,
    *,
    allow_local_storage: bool = False,
    allow_pvc: bool = False,
    movable_owner_kinds: frozenset[str] = MOVABLE_OWNER_KINDS,
    covering: Sequence[str] = (),
) -> str | None:
    """Why a bound pod must not be moved or evicted, or None when it may be.

    ``covering`` names the disruption budgets that cover the pod: the Eviction API refuses a pod
    under two of them (``Create`` in eviction.go answers 500).
    """
    if pod.unmodelled:
        return f"unmodelled ({pod.unmodelled})"
    if MIRROR_ANNOTATION in dict(pod.annotations):
        return "mirror pod"
    if pod.owner is None:
        return "bare pod (no controller)"
    if pod.owner.kind == "DaemonSet":
        return "DaemonSet pod"
    if pod.terminating:
        return "terminating"
    if pod.namespace == "kube-system":
        return "kube-system pod"
    if pod.priority >= SYSTEM_CRITICAL_PRIORITY or pod.priority_class_name in (
        SYSTEM_CRITICAL_CLASSES
    ):
        return "system-critical pod"
    if not owner_listed(pod.owner, movable_owner_kinds):
        return (
            f"owner kind {pod.owner.kind} (apiVersion {pod.owner.api_version}) is not one that "
            "recreates its pods elsewhere"
        )
    if pod.scheduler_name != SERVED_SCHEDULER:
        return f"its replacement would be placed by scheduler {pod.scheduler_name}"
    if pod.local_storage and not allow_local_storage:
        return "uses local storage"
    if pod.volume_claims and not allow_pvc:
        return f"uses {', '.join(pod.volume_claims)}"
    if len(covering) > 1:
        return f"covered by {len(covering)} PodDisruptionBudgets ({', '.join(covering)})"
    return _opt_out(pod)


def owner_listed(owner: OwnerRef, kinds: frozenset[str]) -> bool:
    """Is ``owner``'s controller one of ``kinds``? A Kubernetes kind by its bare name only when
    the owner's apiVersion is Kubernetes' own (or not stated), else as ``Kind.group``; other
    kinds by either."""
    if owner.api_version is None:
        return owner.kind in kinds
    group = owner.api_version.split("/")[0] if "/" in owner.api_version else ""
    qualified = f"{owner.kind}.{group}"
    if owner.kind in KUBERNETES_CONTROLLERS:
        own = KUBERNETES_CONTROLLERS[owner.kind] == group
        return (owner.kind if own else qualified) in kinds
    return owner.kind in kinds or qualified in kinds


def _opt_out(pod: Pod) -> str | None:
    annotations = dict(pod.annotations)
    if annotations.get(SAFE_TO_EVICT) == "false":
        return f"{SAFE_TO_EVICT}=false"
    if annotations.get(DO_NOT_DISRUPT) == "true":
        return f"{DO_NOT_DISRUPT}=true"
    if PREFER_NO_EVICTION in annotations:
        return PREFER_NO_EVICTION
    return None


def budget_allowance(budget: DisruptionBudget) -> int:
    """How many of its pods the Eviction API lets be disrupted (``checkAndDecrement``): none while
    ``status.observedGeneration`` lags ``metadata.generation`` (429) or ``disruptionsAllowed`` is
    not positive, and none past ``MaxDisruptedPodSize`` unconfirmed evictions (403)."""
    if budget.observed_generation < budget.generation:
        return 0
    allowed = max(budget.disruptions_allowed, 0)
    return min(allowed, max(MAX_DISRUPTED_PODS + 1 - budget.disrupted_pods, 0))
