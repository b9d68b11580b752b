"""The benchmark generators follow the paper's recipe, and their kubectl output loads back."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest

from benchmarks.workloads import (
    MB,
    PaperSpec,
    fragmented_cluster,
    paper_replicasets,
    paper_workload,
    to_kubectl_list,
)
from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import CPU, MEMORY, PODS, Cluster
from testkit import checker

SPECS = [
    PaperSpec(4, 4, 1, 0.90, 3),
    PaperSpec(8, 8, 4, 1.05, 7),
    PaperSpec(16, 4, 2, 0.95, 0),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_paper_workload_follows_the_recipe(spec: PaperSpec) -> None:
    cluster = paper_workload(spec)
    assert len(cluster.nodes) == spec.nodes
    assert len(cluster.pods) == spec.nodes * spec.pods_per_node
    assert all(p.node_name is None for p in cluster.pods)
    by_rs: dict[str, list[int]] = {}
    for pod in cluster.pods:
        assert pod.owner is not None
        assert pod.owner.kind == "ReplicaSet"
        assert 100 <= pod.requests.get(CPU) <= 1000
        assert 100 * MB <= pod.requests.get(MEMORY) <= 1000 * MB
        assert 1 <= pod.priority <= spec.priorities
        assert pod.priority_class_name == f"p{pod.priority}"
        by_rs.setdefault(pod.owner.name, []).append(pod.requests.get(CPU))
    assert all(1 <= len(cpus) <= 4 and len(set(cpus)) == 1 for cpus in by_rs.values())
    assert {pc.name for pc in cluster.priority_classes} == {
        f"p{k}" for k in range(1, spec.priorities + 1)
    }
    for resource in (CPU, MEMORY):
        total = sum(p.requests.get(resource) for p in cluster.pods)
        largest = max(p.requests.get(resource) for p in cluster.pods)
        want = max(largest, math.ceil(total / spec.util / spec.nodes))
        assert {n.allocatable.get(resource) for n in cluster.nodes} == {want}
    assert {n.allocatable.get(PODS) for n in cluster.nodes} == {110}


def test_paper_workload_is_seeded() -> None:
    assert paper_workload(SPECS[0]) == paper_workload(SPECS[0])
    other = PaperSpec(4, 4, 1, 0.90, 4)
    assert paper_replicasets(other) != paper_replicasets(SPECS[0])


def test_priorities_cover_the_range() -> None:
    spec = PaperSpec(32, 8, 4, 1.0, 1)
    seen = Counter(p.priority for p in paper_workload(spec).pods)
    assert set(seen) == {1, 2, 3, 4}


def _same(a: Cluster, b: Cluster) -> None:
    assert sorted(a.nodes, key=lambda n: n.name) == sorted(b.nodes, key=lambda n: n.name)
    assert sorted(a.pods, key=lambda p: p.key) == sorted(b.pods, key=lambda p: p.key)
    assert set(a.budgets) == set(b.budgets)
    assert set(a.priority_classes) == set(b.priority_classes)


def test_kubectl_list_round_trips_through_the_snapshot_loader() -> None:
    for cluster in (paper_workload(SPECS[1]), fragmented_cluster(60, seed=2)):
        document = to_kubectl_list(cluster)
        assert document["kind"] == "List"
        _same(cluster_from_objects([document]), cluster)


def test_fragmented_cluster_needs_defragmenting() -> None:
    cluster = fragmented_cluster(200, pods_per_node=30, seed=1)
    assert len(cluster.nodes) == 200
    per_node = Counter(p.node_name for p in cluster.pods if p.node_name)
    assert 20 <= statistics.mean(per_node.values()) <= 40
    kinds = {p.owner.kind for p in cluster.pods if p.owner}
    assert {"DaemonSet", "ReplicaSet"} <= kinds
    assert any(n.taints for n in cluster.nodes)
    assert cluster.budgets
    pending = [p for p in cluster.pods if p.node_name is None]
    assert len(pending) >= 4
    for node in cluster.nodes:
        on_node = [p for p in cluster.pods if p.node_name == node.name]
        assert checker.capacity_violation(node, on_node) is None
        for pod in pending:
            if checker.node_rejects(pod, node) is None:
                assert checker.capacity_violation(node, [*on_node, pod]) is not None, (
                    f"{pod.key} already fits on {node.name}"
                )
