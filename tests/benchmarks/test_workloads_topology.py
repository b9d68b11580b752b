"""The topology workload: constrained Deployments that run within their rules and whose new
replicas fit nowhere they may go until lower-priority pods move."""

from __future__ import annotations

from collections import Counter, defaultdict

from benchmarks.workloads_topology import HOSTNAME, ZONE, topology_cluster, zones_for
from scheduler_ext.domain import CPU, Cluster, Pod
from testkit import checker


def _app(pod: Pod) -> str:
    return dict(pod.labels)["app"]


def test_zones_and_kinds() -> None:
    cluster = topology_cluster(100, seed=1)
    assert len({dict(n.labels)[ZONE] for n in cluster.nodes}) == zones_for(100) == 3
    assert zones_for(1000) == 4
    assert zones_for(5000) == 5
    waiting = [p for p in cluster.pods if p.node_name is None]
    assert waiting
    assert all(p.spread or p.anti_affinity for p in waiting)
    assert {(bool(p.spread), bool(p.anti_affinity)) for p in waiting} == {
        (True, False),
        (False, True),
        (True, True),
    }
    assert {p.preempts for p in waiting} == {True, False}
    constrained = {_app(p) for p in waiting}
    assert constrained <= {b.name.removesuffix("-pdb") for b in cluster.budgets}


def test_running_replicas_keep_their_rules() -> None:
    cluster = topology_cluster(100, seed=2)
    zone_of = {n.name: dict(n.labels)[ZONE] for n in cluster.nodes}
    zones = {zone_of[n.name] for n in cluster.nodes if dict(n.labels)["pool"] == "general"}
    running: dict[str, list[Pod]] = defaultdict(list)
    for p in cluster.pods:
        if p.node_name and (p.spread or p.anti_affinity):
            running[_app(p)].append(p)
    assert running
    for replicas in running.values():
        if replicas[0].anti_affinity:
            assert replicas[0].anti_affinity[0].topology_key == HOSTNAME
            assert len({p.node_name for p in replicas}) == len(replicas)
        if replicas[0].spread:
            per_zone = Counter(zone_of[str(p.node_name)] for p in replicas)
            counts = [per_zone[z] for z in zones]
            assert max(counts) - min(counts) <= 1


def test_new_replicas_need_room_made() -> None:
    cluster = topology_cluster(100, seed=0)
    on: dict[str, list[Pod]] = defaultdict(list)
    for p in cluster.pods:
        if p.node_name:
            on[p.node_name].append(p)
    waiting = [p for p in cluster.pods if p.node_name is None]
    for n in cluster.nodes:
        assert checker.capacity_violation(n, on[n.name]) is None
        for p in waiting:
            if checker.node_rejects(p, n) is None:
                assert checker.capacity_violation(n, [*on[n.name], p]) is not None
    # ... but some node could take each one once its movable pods were gone.
    for p in waiting:
        assert any(
            checker.node_rejects(p, n) is None
            and checker.capacity_violation(
                n, [q for q in on[n.name] if checker.immovable_reason(q) is not None] + [p]
            )
            is None
            for n in cluster.nodes
        )


def test_idle_gpu_cpu_unless_busy() -> None:
    def gpu_free(cluster: Cluster) -> list[int]:
        used: Counter[str] = Counter()
        for p in cluster.pods:
            if p.node_name:
                used[p.node_name] += p.requests.get(CPU)
        return [
            n.allocatable.get(CPU) - used[n.name]
            for n in cluster.nodes
            if n.taints and n.ready and not n.unschedulable
        ]

    idle = gpu_free(topology_cluster(100, seed=0))
    busy = gpu_free(topology_cluster(100, seed=0, busy_gpus=True))
    assert max(idle) >= 4000
    assert len(busy) == len(idle)
    assert max(busy) < 1000
