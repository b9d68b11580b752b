"""The paper's workload generator follows the paper's recipe and is seeded."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from benchmarks.units import MB
from benchmarks.workloads_paper import PaperSpec, paper_replicasets, paper_workload
from scheduler_ext.domain import CPU, MEMORY, PODS

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
