"""Short builders for domain objects and plan dictionaries, for the checker and property tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from scheduler_ext.domain import (
    CPU,
    MEMORY,
    PODS,
    Cluster,
    HostPort,
    LabelItems,
    Node,
    OwnerRef,
    Pod,
    ResourceList,
    Taint,
    Toleration,
    label_items,
)

MI = 1024 * 1024
GI = 1024 * MI


def node(
    name: str,
    cpu: int = 4000,
    memory: int = 8 * GI,
    pods: int = 110,
    *,
    extra: Mapping[str, int] | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    unschedulable: bool = False,
    ready: bool = True,
) -> Node:
    return Node(
        name=name,
        allocatable=ResourceList.of({CPU: cpu, MEMORY: memory, PODS: pods, **(extra or {})}),
        labels=label_items({"kubernetes.io/hostname": name, **(labels or {})}),
        taints=tuple(taints),
        unschedulable=unschedulable,
        ready=ready,
    )


def rs(name: str) -> OwnerRef:
    return OwnerRef(kind="ReplicaSet", name=name, uid=f"uid-{name}")


def pod(
    name: str,
    cpu: int = 100,
    memory: int = 100 * MI,
    *,
    node: str | None = None,
    priority: int = 0,
    namespace: str = "default",
    extra: Mapping[str, int] | None = None,
    owner: OwnerRef | str | None = "rs",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Iterable[Toleration] = (),
    host_ports: Iterable[int] = (),
    **fields: Any,
) -> Pod:
    """A ReplicaSet-owned pod unless ``owner`` says otherwise (None: bare pod)."""
    ref = rs(f"{name.rsplit('-', 1)[0]}-rs") if owner == "rs" else owner
    assert ref is None or isinstance(ref, OwnerRef)
    return Pod(
        namespace=namespace,
        name=name,
        uid=f"uid-{namespace}-{name}",
        priority=priority,
        requests=ResourceList.of({CPU: cpu, MEMORY: memory, **(extra or {})}),
        node_name=node,
        phase="Running" if node else "Pending",
        labels=label_items(labels),
        annotations=label_items(annotations),
        node_selector=label_items(node_selector),
        tolerations=tuple(tolerations),
        host_ports=tuple(HostPort(port=p) for p in host_ports),
        owner=ref,
        **fields,
    )


def labels(**kv: str) -> LabelItems:
    return label_items(kv)


def one_move_cluster(**b_fields: Any) -> Cluster:
    """n1 and n2 hold 600m and 400m; the pending 700m pod fits only after one of them moves.

    n3 is empty but tainted, and the pending pod does not tolerate the taint. ``b_fields`` go to
    the 400m pod (b-1).
    """
    return Cluster(
        nodes=(
            node("n1", cpu=1000),
            node("n2", cpu=1000),
            node("n3", cpu=1000, taints=[Taint("dedicated", "batch", "NoSchedule")]),
        ),
        pods=(
            pod("a-1", 600, node="n1", priority=1, labels={"app": "a"}),
            pod("b-1", 400, node="n2", labels={"app": "b"}, **{"priority": 1, **b_fields}),
            pod("high-1", 700, priority=10, labels={"app": "high"}),
        ),
    )


def plan_dict(
    *,
    bindings: Iterable[tuple[str, str]] = (),
    moves: Iterable[tuple[str, str, str]] = (),
    evictions: Iterable[tuple[str, str]] = (),
    unplanned: Iterable[str] = (),
    tiers: Iterable[tuple[int, int, int]] = (),
    improves: bool = False,
    optimal: bool = False,
    solver: str = "cpsat",
) -> dict[str, Any]:
    """A PackingPlan dictionary in the planner's wire format."""
    return {
        "apiVersion": "scheduler-ext.io/v1alpha1",
        "kind": "PackingPlan",
        "metadata": {"name": "plan-test"},
        "spec": {
            "bindings": [{"pod": p, "node": n} for p, n in bindings],
            "moves": [{"pod": p, "fromNode": a, "toNode": b} for p, a, b in moves],
            "evictions": [{"pod": p, "node": n} for p, n in evictions],
            "unplanned": [{"pod": p, "reason": "test"} for p in unplanned],
        },
        "status": {
            "optimal": optimal,
            "improves": improves,
            "solver": solver,
            "wallSeconds": 0.01,
            "placedByPriority": [{"priority": p, "before": b, "after": a} for p, b, a in tiers],
        },
    }
