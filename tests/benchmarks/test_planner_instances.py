"""The planner benchmark's instances: fresh seeds give other instances, topology sizes exist."""

from __future__ import annotations

from benchmarks.planner_instances import ALL, GROUPS, instances_for


def test_first_seed_moves_every_combination_to_other_seeds() -> None:
    size = ALL["4x4"]
    old = instances_for(size, 2, quick=True)
    fresh = instances_for(size, 2, quick=True, first_seed=1000)
    assert len(fresh) == len(old) == 4
    assert all(int(i.ident.rsplit("-s", 1)[1]) >= 1000 for i in fresh)
    assert not {i.ident for i in old} & {i.ident for i in fresh}


def test_topology_instances_start_where_the_baseline_stopped() -> None:
    assert [s.nodes for s in GROUPS["topology"]] == [100, 1000, 5000]
    (instance,) = instances_for(ALL["topology-100"], 1, quick=False, first_seed=7)
    assert instance.ident == "topology-100-s7"
    assert instance.generated is not None
    assert instance.failing
    waiting = [p for p in instance.baseline.pods if p.node_name is None]
    assert any(p.spread or p.anti_affinity for p in waiting)
