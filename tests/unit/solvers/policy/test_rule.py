"""The policy as prioritize's rule: its features from bare columns are the placement policy's
own (``features.py`` over a solver state) for the pods the verb scores, and its scores are
kube-scheduler's 0..10 with the policy's favourite at the top."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler_ext.solvers.greedy import _State
from scheduler_ext.solvers.policy.features import FEATURES, features
from scheduler_ext.solvers.policy.network import PRIORITIZE_WEIGHTS_FILE, shipped
from scheduler_ext.solvers.policy.rule import (
    MAX_PRIORITY,
    RANGE,
    RATIO,
    SIGMOID,
    policy_priorities,
    priorities,
    room_features,
)
from tests.unit.tiny import ClassSpec, tiny_problem

GI = 1 << 30


@pytest.mark.parametrize("seed", range(10))
def test_column_features_are_the_placement_features(seed: int) -> None:
    """A lowest-priority pod with nothing lifted: what the verb sees is what the solver sees."""
    rng = np.random.default_rng(seed)
    nodes = [
        {
            "cpu": int(rng.choice([2000, 4000, 16000])),
            "memory": int(rng.choice([4, 8])) * GI,
            "pods": int(rng.choice([3, 10, 110])),
        }
        for _ in range(6)
    ]
    running = {i: int(rng.integers(0, 3)) for i in range(6)}
    classes = [
        ClassSpec(priority=1000, demand={"cpu": 500, "memory": GI // 2}, running=running),
        ClassSpec(
            priority=10, demand={"cpu": int(rng.choice([100, 700])), "memory": GI // 4}, pending=1
        ),
    ]
    problem = tiny_problem(nodes, classes)
    state = _State(problem)
    cls = problem.classes[1]
    at = np.arange(len(nodes), dtype=np.intp)
    expected = features(state, cls, at)
    resources = problem.resources
    free = {r: state.free[:, i].astype(np.int64) for i, r in enumerate(resources)}
    alloc = {r: state.capacity[:, i].astype(np.int64) for i, r in enumerate(resources)}
    demand = dict(zip(resources, (int(v) for v in state.demand[cls.index]), strict=True))
    got = room_features(demand, free, alloc, len(nodes))
    assert got.shape == (len(nodes), len(FEATURES))
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_the_mappings() -> None:
    raw = np.array([0.0, -0.5 * np.log(2.0), -0.5 * np.log(10.0), -30.0])
    assert priorities(raw, RATIO).tolist() == [10, 5, 1, 0]
    assert priorities(raw + 7.0, RATIO).tolist() == [10, 5, 1, 0]  # only differences count
    assert priorities(np.array([3.0, 1.0, 2.0]), RANGE).tolist() == [10, 0, 5]
    assert priorities(np.array([1.0, 1.0]), RANGE).tolist() == [0, 0]
    assert priorities(np.zeros(0)).tolist() == []
    assert priorities(np.array([-40.0, 0.0, np.log(4.0), 40.0]), SIGMOID).tolist() == [0, 5, 8, 10]


def test_shipped_rule_scores_in_range_and_in_the_order_of_the_network() -> None:
    count = 50
    rng = np.random.default_rng(3)
    alloc = {
        "cpu": np.full(count, 4000),
        "memory": np.full(count, 8 * GI),
        "pods": np.full(count, 110),
    }
    free = {
        "cpu": rng.integers(600, 4001, count),
        "memory": rng.integers(GI, 8 * GI, count),
        "pods": np.full(count, 50),
    }
    demand = {"cpu": 600, "memory": GI // 2, "pods": 1}
    scores = policy_priorities(demand, free, alloc, count)
    assert scores.min() >= 0
    assert scores.max() <= MAX_PRIORITY
    raw = shipped(PRIORITIZE_WEIGHTS_FILE).scores(room_features(demand, free, alloc, count))
    np.testing.assert_array_equal(scores, np.rint(10 / (1 + np.exp(-raw))))
    assert scores[int(np.argmax(raw))] == scores.max()
    order = np.argsort(-raw, kind="stable")
    assert np.all(np.diff(scores[order]) <= 0)  # never a higher score for a less preferred node
