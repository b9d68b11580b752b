"""Domain Clusters written back as ``kubectl get ... -o json`` prints them.

A snapshot file for the command line (``scheduler-ext plan --snapshot F``) is kubectl JSON, so
the planner benchmark writes each baseline end state this way to time the whole command, and the
round-trip test (domain -> JSON -> ``cluster_from_objects``) checks that the snapshot loader sees
what the generators made. Quantities are printed the way the API server prints them (``1500m``,
``4Gi``), so the loader's quantity parser is exercised too.
"""

from __future__ import annotations

from typing import Any

from benchmarks.units import GI, MI
from scheduler_ext.domain import (
    CPU,
    MEMORY,
    Cluster,
    DisruptionBudget,
    LabelSelector,
    Node,
    NodeSelectorTerm,
    Pod,
    PodAntiAffinityTerm,
    Requirement,
    ResourceList,
)

CREATED = "2025-01-01T00:00:00Z"


def cpu_quantity(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def bytes_quantity(amount: int) -> str:
    for suffix, unit in (("Gi", GI), ("Mi", MI), ("Ki", 1024)):
        if amount and amount % unit == 0:
            return f"{amount // unit}{suffix}"
    return str(amount)


def resource_quantities(resources: ResourceList) -> dict[str, str]:
    out = {}
    for name, amount in resources.amounts:
        if name == CPU:
            out[name] = cpu_quantity(amount)
        elif name in (MEMORY, "ephemeral-storage") or name.startswith("hugepages-"):
            out[name] = bytes_quantity(amount)
        else:
            out[name] = str(amount)
    return out


def _requirement(req: Requirement) -> dict[str, Any]:
    out: dict[str, Any] = {"key": req.key, "operator": req.operator}
    if req.values:
        out["values"] = list(req.values)
    return out


def _selector(selector: LabelSelector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if selector.match_labels:
        out["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        out["matchExpressions"] = [_requirement(r) for r in selector.match_expressions]
    return out


def _node_term(term: NodeSelectorTerm) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if term.match_expressions:
        out["matchExpressions"] = [_requirement(r) for r in term.match_expressions]
    if term.match_fields:
        out["matchFields"] = [_requirement(r) for r in term.match_fields]
    return out


def _anti_affinity_term(term: PodAntiAffinityTerm) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labelSelector": _selector(term.selector),
        "topologyKey": term.topology_key,
    }
    if term.namespaces:
        out["namespaces"] = list(term.namespaces)
    if term.namespace_selector is not None:
        out["namespaceSelector"] = _selector(term.namespace_selector)
    return out


_OWNER_API = {"ReplicaSet": "apps/v1", "DaemonSet": "apps/v1", "StatefulSet": "apps/v1"}


def node_object(node: Node) -> dict[str, Any]:
    quantities = resource_quantities(node.allocatable)
    spec: dict[str, Any] = {}
    if node.taints:
        spec["taints"] = [
            {"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})}
            for t in node.taints
        ]
    if node.unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "uid": f"uid-node-{node.name}",
            "labels": dict(node.labels),
            "creationTimestamp": CREATED,
        },
        "spec": spec,
        "status": {
            "allocatable": quantities,
            "capacity": quantities,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if node.ready else "False",
                    "reason": "KubeletReady" if node.ready else "KubeletNotReady",
                }
            ],
        },
    }


def _pod_metadata(pod: Pod) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": pod.name,
        "namespace": pod.namespace,
        "uid": pod.uid or f"uid-{pod.namespace}-{pod.name}",
        "creationTimestamp": CREATED,
    }
    if pod.labels:
        metadata["labels"] = dict(pod.labels)
    if pod.annotations:
        metadata["annotations"] = dict(pod.annotations)
    if pod.owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": pod.owner.api_version or _OWNER_API.get(pod.owner.kind, "batch/v1"),
                "kind": pod.owner.kind,
                "name": pod.owner.name,
                "uid": pod.owner.uid or f"uid-{pod.owner.kind}-{pod.owner.name}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if pod.terminating:
        metadata["deletionTimestamp"] = CREATED
        metadata["deletionGracePeriodSeconds"] = 30
    return metadata


def _container(pod: Pod) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "app",
        "image": "registry.k8s.io/pause:3.9",
        "resources": {"requests": resource_quantities(pod.requests)},
    }
    if pod.host_ports:
        container["ports"] = [
            {
                "containerPort": hp.port,
                "hostPort": hp.port,
                "protocol": hp.protocol,
                **({"hostIP": hp.host_ip} if hp.host_ip else {}),
            }
            for hp in pod.host_ports
        ]
    return container


def _tolerations(pod: Pod) -> list[dict[str, str]]:
    fields = ("key", "operator", "value", "effect")
    return [
        {name: value for name in fields if (value := getattr(t, name))} for t in pod.tolerations
    ]


def _affinity(pod: Pod) -> dict[str, Any]:
    affinity: dict[str, Any] = {}
    if pod.required_node_affinity:
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [_node_term(t) for t in pod.required_node_affinity]
            }
        }
    if pod.anti_affinity:
        affinity["podAntiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                _anti_affinity_term(t) for t in pod.anti_affinity
            ]
        }
    return affinity


def _pod_spec(pod: Pod, container: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [container],
        "schedulerName": pod.scheduler_name,
        "priority": pod.priority,
    }
    optional = {
        "priorityClassName": pod.priority_class_name,
        "nodeName": pod.node_name,
        "nodeSelector": dict(pod.node_selector),
        "tolerations": _tolerations(pod),
        "affinity": _affinity(pod),
    }
    spec.update((key, value) for key, value in optional.items() if value)
    if pod.local_storage:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    return spec


def pod_object(pod: Pod) -> dict[str, Any]:
    scheduled = {"type": "PodScheduled", "status": "True"}
    if pod.node_name is None:
        scheduled = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _pod_metadata(pod),
        "spec": _pod_spec(pod, _container(pod)),
        "status": {"phase": pod.phase, "conditions": [scheduled]},
    }


def budget_object(budget: DisruptionBudget) -> dict[str, Any]:
    spec: dict[str, Any] = {"maxUnavailable": 1}
    if budget.selector is not None:
        spec["selector"] = _selector(budget.selector)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": budget.name, "namespace": budget.namespace},
        "spec": spec,
        "status": {"disruptionsAllowed": budget.disruptions_allowed},
    }


def to_kubectl_list(cluster: Cluster) -> dict[str, Any]:
    """A ``v1 List`` as ``kubectl get nodes,pods,poddisruptionbudgets,priorityclasses,namespaces
    -A -o json`` prints it (the README's snapshot command)."""
    items: list[dict[str, Any]] = [node_object(node) for node in cluster.nodes]
    items += [pod_object(pod) for pod in cluster.pods]
    items += [budget_object(budget) for budget in cluster.budgets]
    items += [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": pc.name},
            "value": pc.value,
            "globalDefault": pc.global_default,
        }
        for pc in cluster.priority_classes
    ]
    items += [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns.name, **({"labels": dict(ns.labels)} if ns.labels else {})},
        }
        for ns in cluster.namespaces
    ]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
