"""The fragmented-cluster generator makes a running cluster that only moving pods can fix."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from benchmarks.workloads_fragmented import fragmented_cluster
from testkit import checker


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


@pytest.mark.parametrize(("nodes", "seed"), [(1, 0), (6, 1), (7, 0)])
def test_small_clusters_without_a_big_deployment(nodes: int, seed: int) -> None:
    """These sizes drew no deployment of 1 CPU or more to top nodes up with (IndexError)."""
    cluster = fragmented_cluster(nodes, seed=seed)
    assert len(cluster.nodes) == nodes
    for node in cluster.nodes:
        on_node = [p for p in cluster.pods if p.node_name == node.name]
        assert checker.capacity_violation(node, on_node) is None
