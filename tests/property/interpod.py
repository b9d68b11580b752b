"""The inter-pod and eviction-policy parts of the random clusters: required affinity and
anti-affinity (self anti-affinity "one per node/zone" included), DoNotSchedule spread, owner
kinds, preemption policies and disruption budgets (overlapping, stale).

What the planner does not plan yet it must leave alone, exactly as a converted snapshot would
have it: a pod carrying a constraint is marked ``unmodelled`` with the reason the real converter
(``scheduler_ext.cluster.convert``) gives for that constraint, asked once at import, so that the
day the converter stops marking a kind (the model plans it), the properties plan such pods too
without a change here. ``preemptionPolicy: Never`` has no converter mark, so a one-node probe asks
the planner whether it already refuses to evict for such a pod; until it does, pending pods all
preempt (the properties would only rediscover that open defect), and they are drawn as Never
pods once it does.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from hypothesis import strategies as st

from scheduler_ext.cluster.convert import pod_from
from scheduler_ext.domain import (
    CPU,
    MEMORY,
    PODS,
    Cluster,
    DisruptionBudget,
    LabelSelector,
    Node,
    OwnerRef,
    Pod,
    PodAffinityTerm,
    Requirement,
    ResourceList,
    SpreadConstraint,
    label_items,
)

HOST = "kubernetes.io/hostname"
ZONE = "zone"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
OWNER_KINDS = ("ReplicaSet",) * 6 + ("StatefulSet", "Job", "Widget")
"""Controller kinds: mostly ReplicaSets, and the kinds the eviction rules tell apart (with
``API_VERSIONS``)."""


def _converter_reason(spec: dict[str, Any]) -> str | None:
    """What the converter marks a pod with ``spec`` as (None: the planner plans it)."""
    obj = {
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": "default", "labels": {"app": "a"}},
        "spec": {"containers": [], **spec},
        "status": {"phase": "Pending"},
    }
    pod = pod_from(obj, {})
    assert pod is not None
    return pod.unmodelled


_SELECTOR = {"labelSelector": {"matchLabels": {"app": "a"}}, "topologyKey": ZONE}
AFFINITY_REASON = _converter_reason({"affinity": {"podAffinity": {REQUIRED: [_SELECTOR]}}})
ANTI_AFFINITY_REASON = _converter_reason({"affinity": {"podAntiAffinity": {REQUIRED: [_SELECTOR]}}})
SPREAD_REASON = _converter_reason(
    {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule", **_SELECTOR}
        ]
    }
)


def converter_marks(pod: Pod) -> Pod:
    """``pod`` marked unmodelled for its constraints as the converter would mark it (kept
    alongside any reason it already has)."""
    reasons = [pod.unmodelled] if pod.unmodelled else []
    for present, reason in (
        (pod.affinity, AFFINITY_REASON),
        (pod.anti_affinity, ANTI_AFFINITY_REASON),
        (pod.spread, SPREAD_REASON),
    ):
        if present and reason and reason not in reasons:
            reasons.append(reason)
    return dataclasses.replace(pod, unmodelled=", ".join(reasons) or None)


@cache
def never_preemption_planned() -> bool:
    """Does the planner already leave a Never pod unplaced rather than evict for it?"""
    from scheduler_ext.planning.options import PlanOptions
    from scheduler_ext.planning.planner import make_plan

    node = Node("n1", ResourceList.of({CPU: 1000, MEMORY: 1 << 30, PODS: 110}))
    low = Pod(
        "default",
        "low-1",
        priority=1,
        requests=ResourceList.of({CPU: 600}),
        node_name="n1",
        phase="Running",
        owner=OwnerRef("ReplicaSet", "low"),
    )
    never = Pod(
        "default", "high-1", priority=10, requests=ResourceList.of({CPU: 700}), preempts=False
    )
    plan = make_plan(
        Cluster(nodes=(node,), pods=(low, never)), PlanOptions(time_limit_seconds=2), isolate=False
    )
    return not plan.evictions


API_VERSIONS = {
    "ReplicaSet": ("apps/v1",) * 4 + (None, "example.com/v1"),
    "StatefulSet": ("apps/v1", None),
    "Job": ("batch/v1",),
    "Widget": ("example.com/v1",),
}
"""Per kind, the apiVersions drawn: Kubernetes' own, not stated (hand-built), and for
ReplicaSet a custom group's (a custom controller, never moved as a ReplicaSet)."""


def owner(draw: st.DrawFn, name: str) -> OwnerRef:
    kind = draw(st.sampled_from(OWNER_KINDS))
    api_version = draw(st.sampled_from(API_VERSIONS[kind]))
    return OwnerRef(kind, f"{name}-owner", f"uid-{name}-owner", api_version=api_version)


def preempts(draw: st.DrawFn) -> bool:
    return not (never_preemption_planned() and draw(st.integers(0, 4)) == 0)


def _namespace_selector(draw: st.DrawFn) -> dict[str, Any]:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return {"namespace_selector": LabelSelector()}  # every namespace
    if choice == 1:
        by_name = label_items({"kubernetes.io/metadata.name": "default"})
        return {"namespace_selector": LabelSelector(match_labels=by_name)}
    if choice == 2:
        return {"namespaces": ("default",)}
    return {}


def _term(draw: st.DrawFn, app: str, apps: tuple[str, ...]) -> PodAffinityTerm:
    target = app if draw(st.booleans()) else draw(st.sampled_from(apps))
    return PodAffinityTerm(
        selector=LabelSelector(match_labels=label_items({"app": target})),
        topology_key=draw(st.sampled_from((HOST, ZONE))),
        **_namespace_selector(draw),
    )


def _spread(draw: st.DrawFn, app: str) -> SpreadConstraint:
    selector: LabelSelector | None = LabelSelector(match_labels=label_items({"app": app}))
    if draw(st.integers(0, 7)) == 0:
        selector = None
    elif draw(st.integers(0, 5)) == 0:
        selector = LabelSelector(match_expressions=(Requirement("app", "In", (app, "b")),))
    return SpreadConstraint(
        max_skew=draw(st.sampled_from((1, 1, 2))),
        topology_key=draw(st.sampled_from((ZONE, ZONE, HOST))),
        selector=selector,
        min_domains=draw(st.sampled_from((1, 1, 1, 2, 3))),
        honor_node_affinity=draw(st.sampled_from((True, True, False))),
        honor_node_taints=draw(st.sampled_from((False, False, True))),
    )


def with_constraints(draw: st.DrawFn, pod: Pod, apps: tuple[str, ...]) -> Pod:
    """``pod``, sometimes with a required inter-pod constraint, marked as the converter would."""
    app = dict(pod.labels).get("app", apps[0])
    roll = draw(st.integers(0, 9))
    if roll == 0:  # one per node or zone: self anti-affinity
        key = draw(st.sampled_from((HOST, ZONE)))
        own = PodAffinityTerm(LabelSelector(match_labels=label_items({"app": app})), key)
        pod = dataclasses.replace(pod, anti_affinity=(own,))
    elif roll == 1:
        pod = dataclasses.replace(pod, anti_affinity=(_term(draw, app, apps),))
    elif roll == 2:
        pod = dataclasses.replace(pod, affinity=(_term(draw, app, apps),))
    elif roll == 3:
        constraints = [_spread(draw, app)]
        if draw(st.integers(0, 3)) == 0:
            other = _spread(draw, app)
            key = HOST if constraints[0].topology_key == ZONE else ZONE
            constraints.append(dataclasses.replace(other, topology_key=key))
        pod = dataclasses.replace(pod, spread=tuple(constraints))
    return converter_marks(pod)


_STALE_FIELDS = {f.name for f in dataclasses.fields(DisruptionBudget)} >= {
    "generation",
    "observed_generation",
}


def budgets(draw: st.DrawFn, namespace: str, apps: tuple[str, ...]) -> list[DisruptionBudget]:
    """Up to three budgets whose selectors often overlap (pods under two budgets), some with a
    status older than their spec (when the domain tracks generations)."""
    selectors = (
        None,
        LabelSelector(),
        LabelSelector(match_expressions=(Requirement("app", "In", apps[:2]),)),
        *(LabelSelector(match_labels=label_items({"app": a})) for a in apps),
    )
    found = []
    for j in range(draw(st.integers(0, 3))):
        budget = DisruptionBudget(
            namespace, f"pdb-{j}", draw(st.sampled_from(selectors)), draw(st.integers(0, 2))
        )
        if _STALE_FIELDS and draw(st.integers(0, 3)) == 0:
            stale: dict[str, Any] = {"generation": 2, "observed_generation": 1}
            budget = dataclasses.replace(budget, **stale)
        found.append(budget)
    return found
