"""The fit heuristic: the tighter, better balanced node is the more desirable one."""

from __future__ import annotations

import numpy as np

from scheduler_ext.solvers.aco.heuristic import fit
from scheduler_ext.solvers.greedy import _State
from tests.unit.tiny import ClassSpec, tiny_problem


def test_best_fit_prefers_the_node_the_pod_fills() -> None:
    problem = tiny_problem(
        [{"cpu": 4000, "memory": 4000, "pods": 10}] * 3,
        [
            ClassSpec(priority=1, demand={"cpu": 1000, "memory": 1000}, running={1: 2}),
            ClassSpec(priority=1, demand={"cpu": 2000, "memory": 0}, running={2: 1}),
            ClassSpec(priority=1, demand={"cpu": 1000, "memory": 1000}, pending=1),
        ],
    )
    state = _State(problem)
    # n0 empty, n1 half full and balanced, n2 half full of cpu only.
    empty, balanced, lopsided = fit(state, problem.classes[2], np.arange(3, dtype=np.intp))
    assert balanced > lopsided
    assert balanced > empty
    assert min(empty, balanced, lopsided) > 0
