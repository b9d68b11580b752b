"""The policy's features: shares of the node, and the flag for a lifted pod's own node."""

from __future__ import annotations

import numpy as np

from scheduler_ext.solvers.greedy import _State
from scheduler_ext.solvers.policy.features import FEATURES, features
from tests.unit.tiny import ClassSpec, tiny_problem


def test_room_left_and_home_are_read_per_node() -> None:
    problem = tiny_problem(
        [{"cpu": 4000, "pods": 10}, {"cpu": 8000, "pods": 10}],
        [ClassSpec(priority=1, demand={"cpu": 1000}, running={1: 1})],
    )
    state = _State(problem)
    state.change(problem.classes[0], 1, -1)  # lifted: node 1 is its home now
    x = features(state, problem.classes[0], np.array([0, 1], dtype=np.intp))
    assert x.shape == (2, len(FEATURES))
    column = dict(zip(FEATURES, x.T, strict=True))
    np.testing.assert_allclose(column["cpu_left"], [0.75, 0.875])
    np.testing.assert_allclose(column["cpu_asked"], [0.25, 0.125])
    np.testing.assert_array_equal(column["home"], [0.0, 1.0])
    assert np.all((x >= 0) & (x <= 1))
