"""The prioritize retraining is reproducible from its seed, and its start fits best fit."""

from __future__ import annotations

import numpy as np

from benchmarks import train_prioritize
from scheduler_ext.solvers.policy.network import PolicyNet
from scheduler_ext.solvers.policy.rule import room_features


def test_same_seed_same_weights_and_the_weights_move() -> None:
    start = PolicyNet.random(0)
    runs = [train_prioritize.train(start, "policy", 3, 1, 1, 2, 0.1, 0.05)[0] for _ in range(2)]
    for a, b in zip(runs[0].parameters, runs[1].parameters, strict=True):
        np.testing.assert_array_equal(a, b)
    moved = [np.abs(a - s).max() for a, s in zip(runs[0].parameters, start.parameters, strict=True)]
    assert max(moved) > 0


def test_the_distilled_start_scores_like_best_fit() -> None:
    net = train_prioritize.distilled(5, samples=512, steps=600)
    alloc = {"cpu": np.full(3, 4000), "memory": np.full(3, 4096), "pods": np.full(3, 110)}
    free = {
        "cpu": np.array([600, 2000, 4000]),
        "memory": np.array([600, 2000, 4096]),
        "pods": np.full(3, 50),
    }
    raw = net.scores(room_features({"cpu": 500, "memory": 500}, free, alloc, 3))
    assert raw[0] > raw[1] > raw[2]  # the fuller the node after the pod, the higher
