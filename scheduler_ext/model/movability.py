"""Which running pods a plan may move (evict so that their controller recreates them elsewhere).

Moving a pod is only safe if something brings it back and nothing is lost on the way, so these are
the rules trusted evictors (descheduler, cluster-autoscaler, Karpenter) agree on: no mirror or
DaemonSet pods, nothing without a controller, nothing terminating, nothing system-critical, no
local data unless the operator allows it, and every opt-out annotation honoured. A pod whose hard
constraints the planner does not model stays where kube-scheduler put it.
"""

from __future__ import annotations

from scheduler_ext.domain import BUILTIN_PRIORITY_CLASSES, SYSTEM_CRITICAL_PRIORITY, Pod

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
PREFER_NO_EVICTION = "descheduler.alpha.kubernetes.io/prefer-no-eviction"
PROTECTED_NAMESPACE = "kube-system"


def immovable_reason(pod: Pod, *, allow_local_storage: bool = False) -> str | None:
    """Why ``pod`` must stay where it is; None if a plan may move it.

    The first rule that applies is reported, most fundamental first.
    """
    annotations = dict(pod.annotations)
    owner_kind = pod.owner.kind if pod.owner is not None else None
    if MIRROR_ANNOTATION in annotations or owner_kind == "Node":
        return "static (mirror) pod: the kubelet owns it"
    if owner_kind == "DaemonSet":
        return "DaemonSet pod: bound to its node"
    if pod.terminating:
        return "terminating"
    if pod.namespace == PROTECTED_NAMESPACE:
        return f"in namespace {PROTECTED_NAMESPACE}"
    if (
        pod.priority >= SYSTEM_CRITICAL_PRIORITY
        or pod.priority_class_name in BUILTIN_PRIORITY_CLASSES  # the system-critical ones
    ):
        return "system-critical priority"
    if pod.owner is None:
        return "no controller: it would be lost"
    if annotations.get(SAFE_TO_EVICT) == "false":
        return f'annotated {SAFE_TO_EVICT}: "false"'
    if annotations.get(DO_NOT_DISRUPT) == "true":
        return f'annotated {DO_NOT_DISRUPT}: "true"'
    if PREFER_NO_EVICTION in annotations:
        return f"annotated {PREFER_NO_EVICTION}"
    if pod.local_storage and not allow_local_storage:
        return "uses local storage (emptyDir or hostPath): its data would be lost"
    if pod.unmodelled:
        return f"has {pod.unmodelled}; never moved"
    return None
