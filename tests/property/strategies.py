"""Hypothesis strategies for small random clusters, built directly as domain objects.

Clusters mix what makes packing tricky: nodes of different sizes (sometimes a tiny ``pods``
allowance or an extended resource) over zones and hosts (a node may lack the zone label), taints
and tolerations, node selectors, host ports, pods of a few priorities and owner kinds, some bound
(always within their node's capacity) and some Pending, pods that every safety rule forbids
touching, required pod affinity and anti-affinity (one per node or zone included) and
DoNotSchedule topology spread, preemption policies, disruption budgets (overlapping, stale), and
sometimes a disruption cap. The inter-pod and policy parts live in ``interpod.py``, which also
says how pods the planner does not plan yet are marked.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from hypothesis import strategies as st

from scheduler_ext.domain import (
    CPU,
    MEMORY,
    PODS,
    Cluster,
    HostPort,
    Namespace,
    Node,
    OwnerRef,
    Pod,
    ResourceList,
    Taint,
    Toleration,
    label_items,
)
from testkit.checker import MOVABLE_OWNER_KINDS
from testkit.factories import GI, MI
from tests.property import interpod

EXTENDED = "example.com/widget"
PRIORITIES = (0, 10, 100)
APPS = ("a", "b", "c")

IMMOVABLE_KINDS = (
    "mirror",
    "daemonset",
    "bare",
    "terminating",
    "terminating",  # twice: a terminating pod witnesses affinity, blocks anti-affinity, not spread
    "kube-system",
    "critical",
    "local-storage",
    "safe-to-evict",
    "do-not-disrupt",
    "prefer-no-eviction",
    "unmodelled",
)


@dataclass(frozen=True)
class Instance:
    cluster: Cluster
    max_disruptions: int | None
    allow_local_storage: bool
    movable_owner_kinds: frozenset[str] = MOVABLE_OWNER_KINDS


OWNER_KIND_SWITCHES = (
    MOVABLE_OWNER_KINDS,
    MOVABLE_OWNER_KINDS,
    MOVABLE_OWNER_KINDS | {"Job"},
    MOVABLE_OWNER_KINDS | {"Widget"},
    MOVABLE_OWNER_KINDS | {"ReplicaSet.example.com"},
    frozenset({"ReplicaSet"}),
)
"""``--movable-owner-kinds`` values: the default, opting in Jobs, a custom kind, a custom group's
ReplicaSet, and closing StatefulSets."""


@st.composite
def nodes(draw: st.DrawFn, index: int) -> Node:
    name = f"n{index}"
    allocatable = {
        CPU: draw(st.sampled_from((1000, 1500, 2000, 3000))),
        MEMORY: draw(st.sampled_from((1 * GI, 2 * GI, 4 * GI))),
        PODS: draw(st.sampled_from((2, 3, 110, 110))),
    }
    if draw(st.booleans()):
        allocatable[EXTENDED] = draw(st.integers(0, 2))
    labels = {"kubernetes.io/hostname": name}
    zone = draw(st.sampled_from(("a", "b", "a", "b", "c", None)))
    if zone is not None:
        labels["zone"] = zone
    if draw(st.booleans()):
        labels["disk"] = "ssd"
    taints: tuple[Taint, ...] = ()
    if draw(st.integers(0, 3)) == 0:
        effect = draw(st.sampled_from(("NoSchedule", "NoExecute", "PreferNoSchedule")))
        taints = (Taint("dedicated", draw(st.sampled_from(("x", "y"))), effect),)
    condition = draw(st.integers(0, 14))
    return Node(
        name=name,
        allocatable=ResourceList.of(allocatable),
        labels=label_items(labels),
        taints=taints,
        unschedulable=condition == 0,
        ready=condition != 1,
    )


def _make_immovable(pod: Pod, kind: str | None) -> Pod:
    """``pod`` with one reason never to move it (None: unchanged)."""
    replace = dataclasses.replace
    if kind == "mirror":
        return replace(pod, annotations=label_items({"kubernetes.io/config.mirror": "abc"}))
    if kind == "daemonset":
        return replace(pod, owner=OwnerRef("DaemonSet", "ds", "uid-ds"))
    if kind == "bare":
        return replace(pod, owner=None)
    if kind == "terminating":
        return replace(pod, terminating=True)
    if kind == "kube-system":
        return replace(pod, namespace="kube-system")
    if kind == "critical":
        return replace(pod, priority_class_name="system-node-critical", priority=2_000_001_000)
    if kind == "local-storage":
        return replace(pod, local_storage=True)
    if kind in ("safe-to-evict", "do-not-disrupt", "prefer-no-eviction"):
        key, value = {
            "safe-to-evict": ("cluster-autoscaler.kubernetes.io/safe-to-evict", "false"),
            "do-not-disrupt": ("karpenter.sh/do-not-disrupt", "true"),
            "prefer-no-eviction": ("descheduler.alpha.kubernetes.io/prefer-no-eviction", ""),
        }[kind]
        return replace(pod, annotations=label_items({key: value}))
    if kind == "unmodelled":
        return replace(pod, unmodelled="required pod affinity")
    assert kind is None, kind
    return pod


@st.composite
def pods(draw: st.DrawFn, index: int) -> Pod:
    """A pod not yet bound; ``place`` decides later whether (and where) it runs."""
    app = draw(st.sampled_from(APPS))
    priority = draw(st.sampled_from(PRIORITIES))
    requests = {
        CPU: draw(st.sampled_from((250, 500, 500, 750, 1000, 1500))),
        MEMORY: draw(st.sampled_from((128 * MI, 256 * MI, 512 * MI, 1 * GI))),
    }
    if draw(st.integers(0, 4)) == 0:
        requests[EXTENDED] = 1
    tolerations: tuple[Toleration, ...] = ()
    roll = draw(st.integers(0, 5))
    if roll == 0:
        tolerations = (Toleration("dedicated", "Exists"),)
    elif roll == 1:
        tolerations = (Toleration("dedicated", "Equal", "x", "NoSchedule"),)
    elif roll == 2:
        tolerations = (Toleration(operator="Exists"),)
    selector = draw(st.sampled_from(((), (), (), (("zone", "a"),), (("disk", "ssd"),))))
    ports = (HostPort(8080),) if draw(st.integers(0, 5)) == 0 else ()
    immovable = draw(st.sampled_from((None,) * 8 + IMMOVABLE_KINDS))
    scheduler = "other-scheduler" if draw(st.integers(0, 15)) == 0 else "default-scheduler"
    name = f"{app}-{index}"
    pod = Pod(
        namespace="default",
        name=name,
        uid=f"uid-{name}",
        requests=ResourceList.of(requests),
        labels=label_items({"app": app}),
        node_selector=selector,
        tolerations=tolerations,
        host_ports=ports,
        priority=priority,
        owner=interpod.owner(draw, app),
        scheduler_name=scheduler,
    )
    return _make_immovable(pod, immovable)


def _fits(node: Node, on_node: list[Pod], pod: Pod) -> bool:
    used: Counter[str] = Counter()
    for other in [*on_node, pod]:
        for name, amount in other.requests.amounts:
            used[name] += amount
    ports = [hp.port for other in [*on_node, pod] for hp in other.host_ports]
    return (
        len(on_node) + 1 <= node.allocatable.get(PODS)
        and all(amount <= node.allocatable.get(name) for name, amount in used.items())
        and len(ports) == len(set(ports))
    )


@st.composite
def clusters(draw: st.DrawFn, max_nodes: int = 4, max_pods: int = 10) -> Instance:
    node_list = [draw(nodes(i)) for i in range(draw(st.integers(1, max_nodes)))]
    placed: dict[str, list[Pod]] = {node.name: [] for node in node_list}
    pod_list = []
    for i in range(draw(st.integers(0, max_pods))):
        pod = draw(pods(i))
        if draw(st.integers(0, 3)) > 0:  # try to bind it somewhere it fits
            start = draw(st.integers(0, len(node_list) - 1))
            for k in range(len(node_list)):
                node = node_list[(start + k) % len(node_list)]
                if _fits(node, placed[node.name], pod):
                    pod = dataclasses.replace(pod, node_name=node.name, phase="Running")
                    placed[node.name].append(pod)
                    break
        if pod.node_name is None:
            pod = dataclasses.replace(pod, preempts=interpod.preempts(draw))
        pod_list.append(interpod.with_constraints(draw, pod, APPS))
    budgets = interpod.budgets(draw, "default", APPS)
    max_disruptions = draw(st.one_of(st.none(), st.none(), st.integers(0, 3)))
    return Instance(
        cluster=Cluster(
            nodes=tuple(node_list),
            pods=tuple(pod_list),
            budgets=tuple(budgets),
            namespaces=(Namespace("default"), Namespace("kube-system")),
        ),
        max_disruptions=max_disruptions,
        allow_local_storage=draw(st.integers(0, 3)) == 0,
        movable_owner_kinds=draw(st.sampled_from(OWNER_KIND_SWITCHES)),
    )


@st.composite
def fragmented(draw: st.DrawFn, max_nodes: int = 3, max_pods: int = 7) -> Instance:
    """Nodes of one size whose free CPU is scattered: the Pending pods need pods to move first.

    Each node gets a few bound pods; each Pending pod asks for more CPU than any node has free
    but no more than a node holds, so placing it takes moves (or evictions, when the freed pods
    have nowhere to go). Immovability, budgets and caps are then drawn as in ``clusters``.
    """
    count = draw(st.integers(2, max_nodes))
    cpu = draw(st.sampled_from((1000, 1500, 2000)))
    node_list = [
        Node(
            name=f"n{i}",
            allocatable=ResourceList.of({CPU: cpu, MEMORY: 8 * GI, PODS: 110}),
            labels=label_items({"kubernetes.io/hostname": f"n{i}", "zone": "ab"[i % 2]}),
        )
        for i in range(count)
    ]
    pod_list: list[Pod] = []
    free = []
    budget = max_pods - 1
    for node in node_list:
        used = 0
        for _ in range(draw(st.integers(1, 3))):
            size = draw(st.sampled_from((250, 500, 750)))
            if used + size > cpu or budget == 0:
                break
            pod = draw(pods(len(pod_list)))
            pod = dataclasses.replace(
                pod,
                requests=ResourceList.of({CPU: size, MEMORY: 128 * MI}),
                node_name=node.name,
                phase="Running",
                node_selector=(),
                host_ports=(),
                scheduler_name="default-scheduler",
            )
            if draw(st.integers(0, 2)) > 0:  # mostly plain movable pods
                pod = dataclasses.replace(
                    pod,
                    owner=OwnerRef("ReplicaSet", f"{pod.name}-rs"),
                    annotations=(),
                    unmodelled=None,
                    terminating=False,
                    local_storage=False,
                    namespace="default",
                    priority_class_name="",
                    priority=min(pod.priority, 10),
                )
            if draw(st.integers(0, 2)) == 0:
                pod = interpod.with_constraints(draw, pod, APPS)
            pod_list.append(pod)
            used += size
            budget -= 1
        free.append(cpu - used)
    for _ in range(draw(st.integers(1, max(1, min(2, budget + 1))))):
        size = max(free) + draw(st.sampled_from((50, 250, 500)))
        if size > cpu:
            break
        priority = draw(st.sampled_from((10, 100, 100)))
        pending = Pod(
            namespace="default",
            name=f"pending-{len(pod_list)}",
            priority=priority,
            requests=ResourceList.of({CPU: size, MEMORY: 128 * MI}),
            labels=label_items({"app": "p"}),
            owner=OwnerRef("ReplicaSet", "pending-rs"),
            preempts=interpod.preempts(draw),
        )
        pod_list.append(interpod.with_constraints(draw, pending, ("p", *APPS)))
    budgets = interpod.budgets(draw, "default", APPS)
    return Instance(
        cluster=Cluster(
            nodes=tuple(node_list),
            pods=tuple(pod_list),
            budgets=tuple(budgets),
            namespaces=(Namespace("default"), Namespace("kube-system")),
        ),
        max_disruptions=draw(st.one_of(st.none(), st.none(), st.integers(0, 3))),
        allow_local_storage=False,
        movable_owner_kinds=draw(st.sampled_from(OWNER_KIND_SWITCHES)),
    )


def instances(max_nodes: int, max_pods: int) -> st.SearchStrategy[Instance]:
    return st.one_of(
        clusters(max_nodes=max_nodes, max_pods=max_pods),
        fragmented(max_nodes=max_nodes, max_pods=max_pods),
    )
