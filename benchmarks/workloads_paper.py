"""The "Priority Matters" workload (arXiv 2511.08373, section 1.3 of docs/paper.md), seeded.

The planner benchmark (``benchmarks.planner``) and the prioritize-rule benchmark
(``benchmarks.fragmentation``) measure against the instances the paper measures, so this is the
paper's recipe and nothing else: homogeneous nodes; ReplicaSets of 1-4 replicas, each with a
uniform CPU request in [100m, 1000m], a uniform memory request in [100MB, 1000MB] and a uniform
priority in {1..K} (PriorityClasses p1..pK); per-node capacity max(largest pod, ceil(sum of
requests / util / nodes)) per resource and 110 pods. Every pod starts Pending, in the order the
ReplicaSets are applied; ``benchmarks.kube_baseline`` then plays kube-scheduler on it.

The same spec always gives the same Cluster (the generator is seeded from every field of the
spec), so an instance can be named by its spec and regenerated anywhere.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from benchmarks.units import MB
from scheduler_ext.domain import (
    CPU,
    MEMORY,
    PODS,
    Cluster,
    Namespace,
    Node,
    OwnerRef,
    Pod,
    PriorityClass,
    ResourceList,
    label_items,
)

PAPER_NAMESPACE = "bench"


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
