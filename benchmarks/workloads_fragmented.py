"""Large, already-running clusters that only moving pods can fix, seeded.

The paper's workload starts empty and homogeneous; production clusters do not. This generator
gives the planner the case it exists for at the sizes it must handle (1,000-5,000 nodes, ~30 pods
per node): node pools of different shapes, a tainted GPU pool, cordoned and NotReady nodes,
DaemonSet and kube-system pods, PDBs, pods that opt out of eviction, and Pending pods whose
requests exceed the free room of every node, so that some node has to be defragmented. The
planner benchmark's ``huge`` sizes are made here.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from benchmarks.units import GI, MI
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
    OwnerRef,
    Pod,
    PriorityClass,
    ResourceList,
    Taint,
    Toleration,
    label_items,
)

GPU = "nvidia.com/gpu"


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
                if not big:  # a small cluster may have no big deployment to top up with
                    break
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
