"""Raw Kubernetes JSON for the converter tests: a container, a pod, a node, and a pod converted."""

from __future__ import annotations

from typing import Any

from scheduler_ext.cluster.convert import pod_from
from scheduler_ext.domain import Pod, PriorityClass
from testkit.builders import api_node, api_pod

MI = 1024 * 1024
GI = 1024 * MI


def container(
    requests: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": "c", "image": "busybox", "resources": resources, **extra}


def pod_json(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return api_pod(
        "web-1",
        uid="u1",
        metadata=meta,
        spec={"containers": [container({"cpu": "100m"})], **(spec or {})},
        phase="Running",
        typed=True,
    )


def converted(obj: dict[str, Any], priorities: dict[str, PriorityClass] | None = None) -> Pod:
    pod = pod_from(obj, priorities)
    assert pod is not None
    return pod


def node_json(**status: Any) -> dict[str, Any]:
    node = api_node(
        "n1",
        labels={"zone": "a"},
        taints=[
            {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},  # type: ignore[typeddict-item]
        ],
        unschedulable=True,
        allocatable={
            "cpu": "3920m",
            "memory": "15Gi",
            "pods": "110",
            "hugepages-1Gi": "2Gi",
            "nvidia.com/gpu": "4",
            "ephemeral-storage": "100G",
        },
        capacity={"cpu": "4", "memory": "16Gi", "pods": "110"},
        ready=None,
        status={
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            **status,
        },
    )
    node["kind"] = "Node"  # no apiVersion: the converter must not need it
    return node
