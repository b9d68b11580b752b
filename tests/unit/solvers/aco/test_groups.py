"""Node groups: the same capacity and eligibility share pheromone, anything else does not."""

from __future__ import annotations

from scheduler_ext.solvers.aco.groups import node_groups
from tests.unit.tiny import ClassSpec, tiny_problem


def test_nodes_group_by_capacity_and_eligibility() -> None:
    problem = tiny_problem(
        [{"cpu": 4000, "pods": 10}] * 3 + [{"cpu": 8000, "pods": 10}],
        [
            ClassSpec(priority=1, demand={"cpu": 100}, pending=1),
            ClassSpec(priority=1, demand={"cpu": 200}, pending=1, eligible=[0, 1, 3]),
        ],
    )
    groups = node_groups(problem).tolist()
    assert groups[0] == groups[1]
    assert len({groups[1], groups[2], groups[3]}) == 3
