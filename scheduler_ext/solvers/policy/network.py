"""The policy's network: features -> one hidden tanh layer -> a score per node, in numpy.

Small on purpose (a few hundred weights): it runs once per pod over every candidate node, inside
the planner's budget, and ships in the package as a few kilobytes. ``gradient`` is the
back-propagation training needs; inference never calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from scheduler_ext.solvers.policy.features import FEATURES

FloatArray = npt.NDArray[np.float64]

HIDDEN = 16
WEIGHTS_FILE = "weights.npz"
"""The trained weights, package data next to this module."""
PRIORITIZE_WEIGHTS_FILE = "prioritize.npz"
"""The weights retrained for the prioritize verb's rule (``rule.py``,
``benchmarks/train_prioritize.py``)."""


@dataclass(frozen=True)
class PolicyNet:
    hidden_weights: FloatArray
    """features x hidden"""
    hidden_bias: FloatArray
    output_weights: FloatArray
    """hidden; the output needs no bias: scores are only compared within one choice."""

    @classmethod
    def random(cls, seed: int, hidden: int = HIDDEN) -> PolicyNet:
        rng = np.random.default_rng(seed)
        inputs = len(FEATURES)
        return cls(
            rng.normal(0.0, 1.0 / np.sqrt(inputs), (inputs, hidden)),
            np.zeros(hidden),
            rng.normal(0.0, 1.0 / np.sqrt(hidden), hidden),
        )

    def scores(self, x: FloatArray) -> FloatArray:
        hidden = np.tanh(x @ self.hidden_weights + self.hidden_bias)
        return np.asarray(hidden @ self.output_weights, dtype=np.float64)

    def gradient(self, x: FloatArray, upstream: FloatArray) -> tuple[FloatArray, ...]:
        """d(sum_i upstream_i * score_i) / d(weights), in ``parameters`` order."""
        hidden = np.tanh(x @ self.hidden_weights + self.hidden_bias)
        back = upstream[:, None] * self.output_weights[None, :] * (1.0 - hidden**2)
        return (x.T @ back, back.sum(axis=0), hidden.T @ upstream)

    @property
    def parameters(self) -> tuple[FloatArray, ...]:
        return (self.hidden_weights, self.hidden_bias, self.output_weights)

    def stepped(self, steps: tuple[FloatArray, ...]) -> PolicyNet:
        return PolicyNet(*(p + s for p, s in zip(self.parameters, steps, strict=True)))

    def save(self, path: Path) -> None:
        np.savez(path, *self.parameters)

    @classmethod
    def load(cls, path: Path) -> PolicyNet:
        with np.load(path) as data:
            return cls(*(np.asarray(data[f"arr_{i}"], dtype=np.float64) for i in range(3)))


def shipped(name: str = WEIGHTS_FILE) -> PolicyNet:
    """The weights in the package (no network access: they are package data)."""
    source = resources.files("scheduler_ext.solvers.policy").joinpath(name)
    with resources.as_file(source) as path:
        return PolicyNet.load(path)
