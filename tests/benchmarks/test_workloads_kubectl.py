"""The kubectl writer's output loads back, through the snapshot loader, as the Cluster it wrote."""

from __future__ import annotations

import dataclasses

from benchmarks.workloads_fragmented import fragmented_cluster
from benchmarks.workloads_kubectl import to_kubectl_list
from benchmarks.workloads_paper import PaperSpec, paper_workload
from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster, Pod


def _as_written(loaded: Pod, written: Pod) -> Pod:
    """``loaded`` with its owner's apiVersion unstated where ``written`` did not state it (the
    writer states Kubernetes' own, as the API server does)."""
    if written.owner is None or written.owner.api_version is not None or loaded.owner is None:
        return loaded
    return dataclasses.replace(loaded, owner=dataclasses.replace(loaded.owner, api_version=None))


def _same(a: Cluster, b: Cluster) -> None:
    assert sorted(a.nodes, key=lambda n: n.name) == sorted(b.nodes, key=lambda n: n.name)
    written = {p.key: p for p in b.pods}
    loaded = [_as_written(p, written[p.key]) if p.key in written else p for p in a.pods]
    assert sorted(loaded, key=lambda p: p.key) == sorted(b.pods, key=lambda p: p.key)
    assert set(a.budgets) == set(b.budgets)
    assert set(a.priority_classes) == set(b.priority_classes)


def test_kubectl_list_round_trips_through_the_snapshot_loader() -> None:
    for cluster in (paper_workload(PaperSpec(8, 8, 4, 1.05, 7)), fragmented_cluster(60, seed=2)):
        document = to_kubectl_list(cluster)
        assert document["kind"] == "List"
        _same(cluster_from_objects([document]), cluster)
