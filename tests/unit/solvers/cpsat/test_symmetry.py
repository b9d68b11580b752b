"""Identical nodes' contents into symmetry breaking's order and back to where the pods run."""

from __future__ import annotations

from scheduler_ext.model.assignment import Assignment, current_assignment, evaluate
from scheduler_ext.solvers.cpsat.symmetry import least_disturbing, symmetric_hint
from tests.unit.tiny import ClassSpec, tiny_problem

NODES = [{"cpu": 4000, "pods": 10}] * 3


def _by_node(counts: list[dict[int, int]], nodes: int) -> list[tuple[int, ...]]:
    """Each node's content (pods per class), sorted: equal for a permutation of the nodes."""
    return sorted(tuple(row.get(n, 0) for row in counts) for n in range(nodes))


def test_a_reordered_current_placement_goes_back_where_it_runs() -> None:
    problem = tiny_problem(
        nodes=NODES,
        classes=[
            ClassSpec(priority=1, demand={"cpu": 1000}, running={2: 3, 1: 1}),
            ClassSpec(priority=1, demand={"cpu": 500}, running={0: 2}),
        ],
    )
    current = current_assignment(problem)
    reordered = symmetric_hint(problem, current, [[0, 1, 2]], [1000, 500])
    assert evaluate(problem, reordered).disturbed > 0
    back = least_disturbing(problem, reordered, [[0, 1, 2]])
    assert back == current


def test_contents_only_change_nodes_and_never_disturb_more() -> None:
    problem = tiny_problem(
        nodes=NODES,
        classes=[
            ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 2, 1: 1}),
            ClassSpec(priority=2, demand={"cpu": 2000}, pending=1),
        ],
    )
    # A solution that places the pending pod on node 0 and moves both pods from there.
    found = Assignment.from_counts([{1: 1, 2: 2}, {0: 1}])
    back = least_disturbing(problem, found, [[0, 1, 2]])
    assert _by_node(back.counts(), 3) == _by_node(found.counts(), 3)
    assert evaluate(problem, back).placed == evaluate(problem, found).placed
    assert evaluate(problem, back).disturbed < evaluate(problem, found).disturbed
