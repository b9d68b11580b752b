"""Seeded benchmark workloads, as domain Clusters and as `kubectl get ... -o json` List documents.

Two families:

- ``paper_workload``: the "Priority Matters" benchmark (arXiv 2511.08373, section 1.3 of
  docs/paper.md). Homogeneous nodes; ReplicaSets of 1-4 replicas, each with a uniform CPU request
  in [100m, 1000m], a uniform memory request in [100MB, 1000MB] and a uniform priority in {1..K}
  (PriorityClasses p1..pK); per-node capacity max(largest pod, ceil(sum of requests / util /
  nodes)) per resource and 110 pods. Every pod starts Pending, in the order the ReplicaSets are
  applied; ``benchmarks.kube_baseline`` then plays kube-scheduler on it.
- ``fragmented_cluster``: a large, already-running cluster (1,000-5,000 nodes, ~30 pods per
  node) with node pools of different shapes, a tainted GPU pool, cordoned and NotReady nodes,
  DaemonSet and kube-system pods, PDBs, pods that opt out of eviction, and Pending pods whose
  requests exceed the free room of every node, so that some node has to be defragmented.

``to_kubectl_list`` renders any Cluster in the format the snapshot loader reads, so the same
instance can be fed to ``make_plan`` directly or to the ``scheduler-ext plan`` command line.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scheduler_ext.domain import (
    CPU,
    MEMORY,
    PODS,
    Cluster,
    DisruptionBudget,
    HostPort,
    LabelSelector,
    Namespace,
    Node,
    NodeSelectorTerm,
    OwnerRef,
    Pod,
    PodAntiAffinityTerm,
    PriorityClass,
    Requirement,
    ResourceList,
    Taint,
    Toleration,
    label_items,
)

MB = 1_000_000
MI = 1024 * 1024
GI = 1024 * MI
PAPER_NAMESPACE = "bench"
GPU = "nvidia.com/gpu"
CREATED = "2025-01-01T00:00:00Z"


# --- the paper's workload -------------------------------------------------------------------


@dataclass(frozen=True)
class PaperSpec:
    nodes: int
    pods_per_node: int
    priorities: int
    """K: priorities are drawn uniformly from 1..K."""
    util: float
    """Target ratio of requested to total capacity; above 1 the pods cannot all fit."""
    seed: int

    @property
    def pods(self) -> int:
        return self.nodes * self.pods_per_node

    @property
    def name(self) -> str:
        return (
            f"n{self.nodes}-ppn{self.pods_per_node}-k{self.priorities}"
            f"-u{self.util:.2f}-s{self.seed}"
        )


@dataclass(frozen=True)
class ReplicaSetSpec:
    name: str
    replicas: int
    cpu_m: int
    memory: int
    priority: int


def paper_replicasets(spec: PaperSpec) -> list[ReplicaSetSpec]:
    """The ReplicaSets in apply order; their replicas add up to ``spec.pods``."""
    rng = random.Random(
        f"paper:{spec.seed}:{spec.nodes}:{spec.pods_per_node}:{spec.priorities}:{spec.util}"
    )
    out: list[ReplicaSetSpec] = []
    remaining = spec.pods
    while remaining > 0:
        size = min(rng.randint(1, 4), remaining)
        remaining -= size
        priority = rng.randint(1, spec.priorities)
        out.append(
            ReplicaSetSpec(
                name=f"rs-{len(out) + 1:03d}-p{priority}",
                replicas=size,
                cpu_m=rng.randint(100, 1000),
                memory=rng.randint(100, 1000) * MB,
                priority=priority,
            )
        )
    return out


def paper_node_capacity(spec: PaperSpec, sets: Iterable[ReplicaSetSpec]) -> tuple[int, int]:
    """(cpu millicores, memory bytes) of every node."""
    sets = list(sets)
    total_cpu = sum(rs.cpu_m * rs.replicas for rs in sets)
    total_mem = sum(rs.memory * rs.replicas for rs in sets)
    cpu = max(max(rs.cpu_m for rs in sets), math.ceil(total_cpu / spec.util / spec.nodes))
    mem = max(max(rs.memory for rs in sets), math.ceil(total_mem / spec.util / spec.nodes))
    return cpu, mem


def paper_workload(spec: PaperSpec) -> Cluster:
    """Nodes, PriorityClasses and every pod Pending, in ReplicaSet apply order."""
    sets = paper_replicasets(spec)
    cpu, mem = paper_node_capacity(spec, sets)
    width = len(str(spec.nodes))
    nodes = tuple(
        Node(
            name=f"node-{i:0{width}d}",
            allocatable=ResourceList.of({CPU: cpu, MEMORY: mem, PODS: 110}),
            labels=label_items(
                {"kubernetes.io/hostname": f"node-{i:0{width}d}", "kubernetes.io/os": "linux"}
            ),
        )
        for i in range(1, spec.nodes + 1)
    )
    pods = tuple(
        Pod(
            namespace=PAPER_NAMESPACE,
            name=f"{rs.name}-{j}",
            uid=f"uid-{spec.name}-{rs.name}-{j}",
            priority=rs.priority,
            priority_class_name=f"p{rs.priority}",
            requests=ResourceList.of({CPU: rs.cpu_m, MEMORY: rs.memory}),
            labels=label_items({"app": rs.name}),
            owner=OwnerRef(kind="ReplicaSet", name=rs.name, uid=f"uid-{spec.name}-{rs.name}"),
        )
        for rs in sets
        for j in range(rs.replicas)
    )
    return Cluster(
        nodes=nodes,
        pods=pods,
        priority_classes=tuple(
            PriorityClass(name=f"p{k}", value=k) for k in range(1, spec.priorities + 1)
        ),
        namespaces=(Namespace(PAPER_NAMESPACE), Namespace("default"), Namespace("kube-system")),
    )


# --- large fragmented clusters ----------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    cpu_m: int
    memory: int


_SHAPES = (
    _Shape(100, 256 * MI),
    _Shape(250, 512 * MI),
    _Shape(500, 1 * GI),
    _Shape(500, 3 * GI),
    _Shape(1000, 2 * GI),
    _Shape(1500, 4 * GI),
    _Shape(2000, 4 * GI),
)
_SHAPE_WEIGHTS = (6, 6, 3, 1, 2, 1, 1)
_PRIORITY_CLASSES = (
    PriorityClass("batch-low", 100),
    PriorityClass("standard", 1000, global_default=True),
    PriorityClass("prod", 10_000),
    PriorityClass("critical-service", 100_000),
    PriorityClass("node-agent", 1_000_000),
    PriorityClass("system-cluster-critical", 2_000_000_000),
    PriorityClass("system-node-critical", 2_000_001_000),
)
_PRIORITY = {pc.name: pc.value for pc in _PRIORITY_CLASSES}
_WORKLOAD_NAMESPACES = ("shop", "search", "payments", "analytics", "batch")


@dataclass
class _Deployment:
    name: str
    namespace: str
    shape: _Shape
    priority_class: str
    replicas: int = 0
    annotations: tuple[tuple[str, str], ...] = ()
    local_storage: bool = False
    bare: bool = False


def _node_pools(count: int, rng: random.Random) -> list[Node]:
    nodes = []
    width = len(str(count))
    for i in range(count):
        name = f"ip-10-{i // 250}-{i % 250}-{i:0{width}d}"
        roll = rng.random()
        zone = f"zone-{'abc'[i % 3]}"
        labels = {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}
        taints: tuple[Taint, ...] = ()
        if roll < 0.08:
            pool, cpu, mem, extra = "gpu", 32_000, 128 * GI, {GPU: 4}
            labels["accelerator"] = "nvidia"
            taints = (Taint(GPU, "present", "NoSchedule"),)
        elif roll < 0.28:
            pool, cpu, mem, extra = "highmem", 8_000, 64 * GI, {}
        else:
            pool, cpu, mem, extra = "general", 16_000, 64 * GI, {}
        labels["pool"] = pool
        nodes.append(
            Node(
                name=name,
                allocatable=ResourceList.of({CPU: cpu, MEMORY: mem, PODS: 110, **extra}),
                labels=label_items(labels),
                taints=taints,
                unschedulable=rng.random() < 0.01,
                ready=rng.random() >= 0.005,
            )
        )
    return nodes


def _daemon_pods(node: Node) -> list[Pod]:
    tolerate_all = (Toleration(operator="Exists"),)
    return [
        Pod(
            namespace="kube-system",
            name=f"kube-proxy-{node.name}",
            uid=f"uid-kube-proxy-{node.name}",
            priority=_PRIORITY["system-node-critical"],
            priority_class_name="system-node-critical",
            requests=ResourceList.of({CPU: 100, MEMORY: 128 * MI}),
            node_name=node.name,
            phase="Running",
            labels=label_items({"k8s-app": "kube-proxy"}),
            tolerations=tolerate_all,
            owner=OwnerRef("DaemonSet", "kube-proxy", "uid-ds-kube-proxy"),
        ),
        Pod(
            namespace="monitoring",
            name=f"node-exporter-{node.name}",
            uid=f"uid-node-exporter-{node.name}",
            priority=_PRIORITY["node-agent"],
            priority_class_name="node-agent",
            requests=ResourceList.of({CPU: 50, MEMORY: 64 * MI}),
            node_name=node.name,
            phase="Running",
            labels=label_items({"app": "node-exporter"}),
            tolerations=tolerate_all,
            host_ports=(HostPort(9100),),
            owner=OwnerRef("DaemonSet", "node-exporter", "uid-ds-node-exporter"),
        ),
    ]


def _deployments(rng: random.Random, count: int) -> list[_Deployment]:
    out = []
    for i in range(count):
        namespace = _WORKLOAD_NAMESPACES[i % len(_WORKLOAD_NAMESPACES)]
        pc = "batch-low" if namespace == "batch" else rng.choice(("standard", "standard", "prod"))
        dep = _Deployment(
            name=f"{namespace}-app-{i:04d}-{rng.randrange(16**6):06x}",
            namespace=namespace,
            shape=rng.choices(_SHAPES, _SHAPE_WEIGHTS)[0],
            priority_class=pc,
        )
        roll = rng.random()
        if roll < 0.02:
            dep.annotations = (("cluster-autoscaler.kubernetes.io/safe-to-evict", "false"),)
        elif roll < 0.05:
            dep.local_storage = True
        elif roll < 0.06:
            dep.bare = True
        out.append(dep)
    return out


def _workload_pod(dep: _Deployment, node_name: str | None, uid_prefix: str) -> Pod:
    index = dep.replicas
    dep.replicas += 1
    name = f"{dep.name}-{index:05d}"
    return Pod(
        namespace=dep.namespace,
        name=name,
        uid=f"{uid_prefix}-{dep.namespace}-{name}",
        priority=_PRIORITY[dep.priority_class],
        priority_class_name=dep.priority_class,
        requests=ResourceList.of({CPU: dep.shape.cpu_m, MEMORY: dep.shape.memory}),
        node_name=node_name,
        phase="Running" if node_name else "Pending",
        labels=label_items({"app": dep.name}),
        annotations=dep.annotations,
        owner=None if dep.bare else OwnerRef("ReplicaSet", dep.name, f"uid-rs-{dep.name}"),
        local_storage=dep.local_storage,
    )


def fragmented_cluster(
    nodes: int, pods_per_node: int = 30, seed: int = 0, pending: int | None = None
) -> Cluster:
    """A running cluster, packed to 80-97% per node, with Pending pods that need defragmenting.

    Pending pods (``pending``, default max(4, nodes // 100)) come in three kinds:
    "critical-service" pods above everything running (kube-scheduler's preemption evicts for
    them), "standard" pods at the priority of most running pods (preemption can only evict batch
    pods), and "batch-low" pods at the lowest workload priority (only moving pods can make room).
    Each asks for more CPU than any schedulable general-pool node has free, but less than such a
    node holds in movable pods.
    """
    rng = random.Random(f"fragmented:{nodes}:{pods_per_node}:{seed}")
    node_list = _node_pools(nodes, rng)
    deployments = _deployments(rng, max(8, nodes * pods_per_node // 25))
    gpu_jobs = [_Deployment(f"training-{i}", "ml", _Shape(4000, 16 * GI), "prod") for i in range(8)]
    big = [d for d in deployments if d.shape.cpu_m >= 1000]
    pods: list[Pod] = []
    free_cpu: dict[str, int] = {}
    for index, node in enumerate(node_list):
        on_node = _daemon_pods(node)
        if index % 10 == 0:
            on_node.append(
                Pod(
                    namespace="kube-system",
                    name=f"coredns-5d78c9869d-{index:05d}",
                    uid=f"uid-coredns-{index}",
                    priority=_PRIORITY["system-cluster-critical"],
                    priority_class_name="system-cluster-critical",
                    requests=ResourceList.of({CPU: 100, MEMORY: 70 * MI}),
                    node_name=node.name,
                    phase="Running",
                    labels=label_items({"k8s-app": "kube-dns"}),
                    owner=OwnerRef("ReplicaSet", "coredns-5d78c9869d", "uid-rs-coredns"),
                )
            )
        cpu_cap = node.allocatable.get(CPU)
        mem_cap = node.allocatable.get(MEMORY)
        cpu_used = sum(p.requests.get(CPU) for p in on_node)
        mem_used = sum(p.requests.get(MEMORY) for p in on_node)
        target = rng.uniform(0.80, 0.97)
        is_gpu = dict(node.labels).get("pool") == "gpu"
        misses = 0
        while misses < 12 and (len(on_node) < pods_per_node or cpu_used < cpu_cap * target - 1000):
            # Past the pod count, top the node up with big pods so no node keeps a huge hole.
            pool = gpu_jobs if is_gpu and len(on_node) < 6 else deployments
            if len(on_node) >= pods_per_node:
                pool = big
            dep = rng.choice(pool)
            cpu, mem = dep.shape.cpu_m, dep.shape.memory
            if cpu_used + cpu > cpu_cap * target or mem_used + mem > mem_cap * 0.97:
                misses += 1
                continue
            pod = _workload_pod(dep, node.name, f"uid-{seed}")
            if dep in gpu_jobs:
                pod = _gpu_training(pod)
            on_node.append(pod)
            cpu_used += cpu
            mem_used += mem
        pods.extend(on_node)
        if not node.unschedulable and node.ready and dict(node.labels).get("pool") == "general":
            free_cpu[node.name] = cpu_cap - cpu_used

    largest_free = max(free_cpu.values(), default=0)
    want = pending if pending is not None else max(4, nodes // 100)
    for i in range(want):
        pc = ("critical-service", "standard", "batch-low")[i % 3]
        cpu = (largest_free // 100 + 1 + (i % 3)) * 100
        dep = _Deployment(f"burst-{i:03d}", "shop", _Shape(cpu, 2 * GI), pc)
        pods.append(_workload_pod(dep, None, f"uid-{seed}"))

    budgets = []
    for dep in deployments:
        if dep.replicas >= 3 and not dep.bare and rng.random() < 0.3:
            budgets.append(
                DisruptionBudget(
                    dep.namespace,
                    f"{dep.name}-pdb",
                    LabelSelector(match_labels=label_items({"app": dep.name})),
                    rng.randint(0, 3),
                )
            )
    return Cluster(
        nodes=tuple(node_list),
        pods=tuple(pods),
        budgets=tuple(budgets),
        priority_classes=_PRIORITY_CLASSES,
        namespaces=tuple(
            Namespace(ns)
            for ns in ("default", "kube-system", "monitoring", "ml", *_WORKLOAD_NAMESPACES)
        ),
    )


def _gpu_training(pod: Pod) -> Pod:
    return dataclasses.replace(
        pod,
        requests=pod.requests + ResourceList.of({GPU: 1}),
        tolerations=(Toleration(GPU, "Exists", effect="NoSchedule"),),
        node_selector=label_items({"accelerator": "nvidia"}),
    )


# --- kubectl List rendering -------------------------------------------------------------------


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
                "apiVersion": _OWNER_API.get(pod.owner.kind, "batch/v1"),
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
    """A ``v1 List`` as ``kubectl get nodes,pods,poddisruptionbudgets,priorityclasses -A -o json``
    prints it (namespaces added so namespace labels survive)."""
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
