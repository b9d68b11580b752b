"""REINFORCE learns: a few seeded steps on hole-cutting problems lift the policy's held-out
score above its random initial weights, and the same seed gives the same weights."""

from __future__ import annotations

import numpy as np

from scheduler_ext.solvers.policy.network import PolicyNet
from scheduler_ext.solvers.policy.training import TrainingSettings, score, train
from tests.unit.solvers.policy.holes import holes

TINY = TrainingSettings(steps=12, episodes=6, learning_rate=0.1)
ALL_PLACED = 1.0
"""The reward of a walk that places every pending pod (weight 1 per pod, per pending pod)."""


def test_a_few_steps_beat_the_random_initial_weights_on_held_out_problems() -> None:
    training = [holes(seed) for seed in range(4)]
    held_out = [holes(100 + seed) for seed in range(4)]
    initial = PolicyNet.random(0)
    trained, history = train(initial, training, TINY, seed=0)
    before, after = score(initial, held_out, TINY), score(trained, held_out, TINY)
    assert before < after <= ALL_PLACED
    assert len(history) == TINY.steps


def test_the_same_seed_trains_the_same_weights() -> None:
    problems = [holes(seed) for seed in range(2)]
    settings = TrainingSettings(steps=3, episodes=3)
    first, _ = train(PolicyNet.random(5), problems, settings, seed=5)
    second, _ = train(PolicyNet.random(5), problems, settings, seed=5)
    for a, b in zip(first.parameters, second.parameters, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(first.parameters, PolicyNet.random(5).parameters, strict=True)
    )
