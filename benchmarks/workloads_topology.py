"""Zone-spread and one-per-node Deployments scaled up on a fragmented cluster, seeded.

What operators run everywhere: Deployments with a DoNotSchedule spread over
``topology.kubernetes.io/zone`` (maxSkew 1), Deployments with required anti-affinity on
``kubernetes.io/hostname`` (one replica per node), and both at once, among plain ReplicaSets of
lower priority (``benchmarks.workloads_fragmented``, whose zones are relabelled to 3-5 here). The
constrained Deployments run high-priority (``critical-service``, or ``critical-nonpreempting``
with ``preemptionPolicy: Never``), under a PDB allowing one disruption, and have just been scaled
up: their new replicas ask for more than any node they may land on has free, so they wait until
lower-priority pods are moved (or, for the preempting class, preempted). Where a new replica may
go is decided by the constraints: a zone at the Deployment's smallest count, a node without a
replica. The planner benchmark's ``topology`` sizes are made here.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from dataclasses import dataclass

from benchmarks.units import GI
from benchmarks.workloads_fragmented import fragmented_cluster
from scheduler_ext.domain import (
    CPU,
    MEMORY,
    PODS,
    Cluster,
    DisruptionBudget,
    LabelSelector,
    Namespace,
    Node,
    OwnerRef,
    Pod,
    PodAffinityTerm,
    PriorityClass,
    ResourceList,
    SpreadConstraint,
    Toleration,
    label_items,
)

ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
NAMESPACE = "frontend"
PRIORITY_CLASSES = (
    PriorityClass("critical-service", 100_000),
    PriorityClass("critical-nonpreempting", 100_000, preempts=False),
)
KINDS = ("zone-spread", "one-per-node", "zone-spread+one-per-node")
_MOVABLE_NAMESPACES = frozenset({"shop", "search", "payments", "analytics", "batch"})
_FILLER_OWNER = OwnerRef("ReplicaSet", "batch-filler", "uid-rs-batch-filler")


@dataclass(frozen=True)
class TopologyDeployment:
    name: str
    kind: str
    cpu_m: int
    memory: int
    priority_class: str
    running_per_zone: tuple[int, ...]
    """Running replicas per zone (one-per-node alone: all zones together in the first)."""
    pending: int

    @property
    def labels(self) -> dict[str, str]:
        return {"app": self.name}

    @property
    def spread(self) -> bool:
        return self.kind.startswith("zone-spread")

    @property
    def one_per_node(self) -> bool:
        return self.kind.endswith("one-per-node")


def zones_for(nodes: int) -> int:
    """3 zones up to 999 nodes, 4 from 1,000, 5 from 5,000."""
    return 3 + (nodes >= 1000) + (nodes >= 5000)


def _zone_name(index: int) -> str:
    return f"eu-west-1{'abcde'[index]}"


def _deployments(rng: random.Random, nodes: int, zones: int) -> list[TopologyDeployment]:
    per_kind = max(2, round(nodes**0.5 / 3))
    out = []
    for i in range(per_kind * len(KINDS)):
        kind = KINDS[i % len(KINDS)]
        base = rng.randint(1, 3)
        per_zone = [base + (rng.random() < 0.3) for _ in range(zones)]
        if kind == "one-per-node":
            per_zone = [sum(per_zone)]
        out.append(
            TopologyDeployment(
                name=f"{kind.replace('+', '-')}-{i:03d}-{rng.randrange(16**5):05x}",
                kind=kind,
                cpu_m=rng.choice((3500, 4000, 5000, 6000)),
                memory=rng.choice((2, 4, 8)) * GI,
                priority_class=PRIORITY_CLASSES[i // len(KINDS) % 2].name,
                running_per_zone=tuple(per_zone),
                pending=rng.choice((1, 1, 2)),
            )
        )
    return out


def _pod(dep: TopologyDeployment, index: int, node: str | None, seed: int) -> Pod:
    match = LabelSelector(match_labels=label_items(dep.labels))
    name = f"{dep.name}-{index:04d}"
    return Pod(
        namespace=NAMESPACE,
        name=name,
        uid=f"uid-{seed}-{NAMESPACE}-{name}",
        priority=100_000,
        priority_class_name=dep.priority_class,
        requests=ResourceList.of({CPU: dep.cpu_m, MEMORY: dep.memory}),
        node_name=node,
        phase="Running" if node else "Pending",
        labels=label_items(dep.labels),
        node_selector=label_items({"pool": "general"}),
        owner=OwnerRef("ReplicaSet", dep.name, f"uid-rs-{dep.name}"),
        anti_affinity=(PodAffinityTerm(match, HOSTNAME),) if dep.one_per_node else (),
        spread=(SpreadConstraint(1, ZONE, match),) if dep.spread else (),
        preempts=dep.priority_class == "critical-service",
    )


class _Carver:
    """Per-node room, made for a replica by deleting movable workload pods from that node."""

    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.rng = rng
        self.nodes = {n.name: n for n in cluster.nodes}
        self.on: dict[str, list[Pod]] = defaultdict(list)
        self.unbound: list[Pod] = []
        for pod in cluster.pods:
            if pod.node_name is None:
                self.unbound.append(pod)
            else:
                self.on[pod.node_name].append(pod)

    def free(self, node: str) -> tuple[int, int, int]:
        alloc = self.nodes[node].allocatable
        pods = self.on[node]
        return (
            alloc.get(CPU) - sum(p.requests.get(CPU) for p in pods),
            alloc.get(MEMORY) - sum(p.requests.get(MEMORY) for p in pods),
            alloc.get(PODS) - len(pods),
        )

    def place(self, pod: Pod, node: str) -> bool:
        """Run ``pod`` on ``node``, deleting movable pods for room; False when they are too few."""
        movable = [p for p in self.on[node] if p.namespace in _MOVABLE_NAMESPACES]
        cpu, mem, count = self.free(node)
        if (
            cpu + sum(p.requests.get(CPU) for p in movable) < pod.requests.get(CPU)
            or mem + sum(p.requests.get(MEMORY) for p in movable) < pod.requests.get(MEMORY)
            or count + len(movable) < 1
        ):
            return False
        self.rng.shuffle(movable)
        while True:
            cpu, mem, count = self.free(node)
            if cpu >= pod.requests.get(CPU) and mem >= pod.requests.get(MEMORY) and count >= 1:
                break
            self.on[node].remove(movable.pop())
        self.on[node].append(pod)
        return True

    def fill(
        self, node: str, below_cpu: int, seed: int, tolerations: tuple[Toleration, ...] = ()
    ) -> None:
        """Leave less than ``below_cpu`` free on ``node`` with one low-priority batch pod."""
        cpu, mem, count = self.free(node)
        if cpu < below_cpu or count < 1:
            return
        size = cpu - below_cpu + 100 + self.rng.randrange(0, 600, 100)
        size = min(size, cpu)
        name = f"batch-filler-{node}"
        self.on[node].append(
            Pod(
                namespace="batch",
                name=name,
                uid=f"uid-{seed}-batch-{name}",
                priority=100,
                priority_class_name="batch-low",
                requests=ResourceList.of({CPU: size, MEMORY: min(mem, 1 * GI)}),
                node_name=node,
                phase="Running",
                labels=label_items({"app": "batch-filler"}),
                owner=_FILLER_OWNER,
                tolerations=tolerations,
            )
        )

    def pods(self) -> tuple[Pod, ...]:
        return tuple(p for name in self.nodes for p in self.on[name]) + tuple(self.unbound)


def _relabel_zones(nodes: tuple[Node, ...], zones: int) -> tuple[Node, ...]:
    out = []
    for i, node in enumerate(nodes):
        labels = dict(node.labels)
        labels[ZONE] = _zone_name(i % zones)
        out.append(dataclasses.replace(node, labels=label_items(labels)))
    return tuple(out)


def topology_cluster(
    nodes: int, pods_per_node: int = 30, seed: int = 0, *, busy_gpus: bool = False
) -> Cluster:
    """A fragmented cluster (``fragmented_cluster`` without its Pending pods) running the
    constrained Deployments of ``_deployments``, each with ``pending`` new replicas Pending.

    The GPU pool keeps the CPU its training jobs leave idle (up to 6 of 32 cores per node, the
    largest holes in the cluster, behind a taint the workload pods do not tolerate), unless
    ``busy_gpus``: then a tolerating batch pod takes all but 0.5-1 core of each GPU node.
    """
    rng = random.Random(f"topology:{nodes}:{pods_per_node}:{seed}")
    zones = zones_for(nodes)
    base = fragmented_cluster(nodes, pods_per_node, seed=seed, pending=0)
    cluster = dataclasses.replace(base, nodes=_relabel_zones(base.nodes, zones))
    carver = _Carver(cluster, rng)
    usable = [
        n
        for n in cluster.nodes
        if dict(n.labels).get("pool") == "general" and n.ready and not n.unschedulable
    ]
    by_zone: dict[str, list[str]] = defaultdict(list)
    for node in usable:
        by_zone[dict(node.labels)[ZONE]].append(node.name)
    deployments = _deployments(rng, nodes, zones)
    pending: list[Pod] = []
    for dep in deployments:
        index = 0
        taken: set[str] = set()
        for z, count in enumerate(dep.running_per_zone):
            names = [n.name for n in usable] if not dep.spread else by_zone[_zone_name(z)]
            candidates = [n for n in names if n not in taken]
            rng.shuffle(candidates)
            placed = 0
            for name in candidates:
                if placed == count:
                    break
                if carver.place(_pod(dep, index, name, seed), name):
                    taken.add(name)
                    index += 1
                    placed += 1
        pending += [_pod(dep, index + k, None, seed) for k in range(dep.pending)]
    smallest = min(d.cpu_m for d in deployments)
    for node in usable:
        carver.fill(node.name, smallest, seed)
    if busy_gpus:
        for node in cluster.nodes:
            if node.taints and node.ready and not node.unschedulable:
                carver.fill(node.name, 1000, seed, (Toleration(operator="Exists"),))
    budgets = tuple(
        DisruptionBudget(
            NAMESPACE, f"{d.name}-pdb", LabelSelector(match_labels=label_items(d.labels)), 1
        )
        for d in deployments
    )
    return dataclasses.replace(
        cluster,
        pods=carver.pods() + tuple(pending),
        budgets=base.budgets + budgets,
        priority_classes=base.priority_classes + PRIORITY_CLASSES,
        namespaces=(*base.namespaces, Namespace(NAMESPACE)),
    )
