"""``scheduler-ext train-policy``'s training: generated hole clusters on which a few seeded steps
lift the held-out score above the random initial weights, the same seed giving the same weights."""

from __future__ import annotations

import numpy as np

from scheduler_ext.solvers.policy.instances import (
    PENDING_PRIORITY,
    hole_cluster,
    train_generated,
)
from scheduler_ext.solvers.policy.training import TrainingSettings

TINY = TrainingSettings(steps=12, episodes=6, learning_rate=0.1)


def test_pending_pods_fill_the_holes_exactly() -> None:
    cluster = hole_cluster(3, nodes=8)
    free = sum(n.allocatable.get("cpu") for n in cluster.nodes)
    running = sum(p.requests.get("cpu") for p in cluster.pods if p.node_name)
    pending = [p for p in cluster.pods if p.node_name is None]
    assert {p.priority for p in pending} == {PENDING_PRIORITY}
    assert sum(p.requests.get("cpu") for p in pending) == free - running


def test_a_few_steps_beat_the_random_weights_on_held_out_clusters() -> None:
    trained = train_generated(0, TINY.steps, 4, 8, TINY)
    assert trained.before < trained.after <= 1.0


def test_the_same_seed_gives_the_same_weights() -> None:
    settings = TrainingSettings(steps=2, episodes=3)
    first = train_generated(4, 2, 2, 4, settings)
    second = train_generated(4, 2, 2, 4, settings)
    for a, b in zip(first.net.parameters, second.net.parameters, strict=True):
        np.testing.assert_array_equal(a, b)
