"""The network's gradient is the derivative of its scores, and weights survive a save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scheduler_ext.solvers.policy.features import FEATURES
from scheduler_ext.solvers.policy.network import PolicyNet, shipped


def test_the_gradient_matches_finite_differences() -> None:
    net = PolicyNet.random(3)
    rng = np.random.default_rng(3)
    x = rng.random((5, len(FEATURES)))
    upstream = rng.normal(size=5)
    analytic = net.gradient(x, upstream)
    eps = 1e-6
    for p, (parameter, grad) in enumerate(zip(net.parameters, analytic, strict=True)):
        for index in [(0,) * parameter.ndim, tuple(s - 1 for s in parameter.shape)]:
            bumped = [q.copy() for q in net.parameters]
            bumped[p][index] += eps
            up = float(upstream @ PolicyNet(*bumped).scores(x))
            down = float(upstream @ net.scores(x))
            assert abs((up - down) / eps - grad[index]) < 1e-4


def test_weights_round_trip_and_the_package_ships_some(tmp_path: Path) -> None:
    net = PolicyNet.random(4)
    net.save(tmp_path / "w.npz")
    loaded = PolicyNet.load(tmp_path / "w.npz")
    for a, b in zip(net.parameters, loaded.parameters, strict=True):
        np.testing.assert_array_equal(a, b)
    assert shipped().hidden_weights.shape[0] == len(FEATURES)
