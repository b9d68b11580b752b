"""REINFORCE for the placement policy: sample walks, push up the choices of the better ones.

An episode is one ant's walk (``solvers/aco/ant.py``) on a training problem in which every node
choice is drawn from softmax(scores / temperature); its reward is the walk's score against the
current placement, the lexicographic key flattened with weights that fall by 4x per priority tier
with pending pods (``tier_weights``) and a small penalty per disturbed pod and eviction, per
pending pod. The gradient of log-probability of each
choice is (one-hot - softmax) back-propagated through the network; the baseline is the mean
reward of the episodes on the same problem in the same step, and advantages are normalised.
Adam takes the steps. Everything is seeded: the same seed and problems give the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.problem import PodClass, Problem
from scheduler_ext.solvers.aco.ant import Base, base_of, walk
from scheduler_ext.solvers.greedy import _State
from scheduler_ext.solvers.policy.construct import PolicyChooser
from scheduler_ext.solvers.policy.features import features
from scheduler_ext.solvers.policy.network import PolicyNet

FloatArray = npt.NDArray[np.float64]
IntpArray = npt.NDArray[np.intp]

TIER_WEIGHT = 4.0
DISRUPTION_PENALTY = 0.05


@dataclass(frozen=True)
class TrainingSettings:
    steps: int = 100
    episodes: int = 8
    """Walks per step, all on one problem: their mean reward is the baseline."""
    learning_rate: float = 0.02
    temperature: float = 0.5
    order_noise: float = 4.0
    """Pods of one priority come in a shuffled order rather than largest first, and no walk
    lifts pods: the policy is judged on its own choices, with nothing to repair them, which is
    where one node choice strands a later pod and the reward tells choices apart."""


def tier_weights(problem: Problem) -> tuple[float, ...]:
    """Per entry of the key, its weight in the reward, per pending pod: a tier weighs 4x less
    than the nearest tier above it that has pending pods (tiers without any only lose pods), so
    that the reward has the same scale whichever tiers the pending pods are in; the last two
    entries (disturbed, evictions) weigh a small penalty."""
    pending = {c.priority for c in problem.classes if c.pending_count}
    count = max(1, sum(c.pending_count for c in problem.classes))
    weights, above = [], 0
    for priority in problem.priorities:
        weights.append(TIER_WEIGHT ** (-above) / count)
        above += priority in pending
    return (*weights, DISRUPTION_PENALTY / count, DISRUPTION_PENALTY / count)


def reward(base: Base, key: tuple[int, ...], weights: tuple[float, ...]) -> float:
    return sum((k - b) * w for k, b, w in zip(key, base.key, weights, strict=True))


class _SamplingChooser:
    """Draws each node from the policy and adds up d log pi(choice) / d weights."""

    def __init__(self, net: PolicyNet, rng: np.random.Generator, temperature: float) -> None:
        self.net = net
        self.rng = rng
        self.temperature = temperature
        self.gradient = tuple(np.zeros_like(p) for p in net.parameters)

    def place(self, state: _State, cls: PodClass, nodes: IntpArray) -> int:
        x = features(state, cls, nodes)
        logits = self.net.scores(x) / self.temperature
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        choice = int(self.rng.choice(len(nodes), p=probabilities))
        upstream = -probabilities
        upstream[choice] += 1.0
        steps = self.net.gradient(x, upstream / self.temperature)
        self.gradient = tuple(g + s for g, s in zip(self.gradient, steps, strict=True))
        return choice

    def targets(
        self, state: _State, cls: PodClass, nodes: IntpArray, deficit: FloatArray
    ) -> IntpArray:
        return nodes[np.argsort(deficit, kind="stable")]


@dataclass
class _Episodes:
    """Per problem its state (built once: walks leave it as found), base and tier weights."""

    problems: Sequence[Problem]
    states: dict[int, tuple[_State, Base, tuple[float, ...]]] = field(default_factory=dict)

    def of(self, i: int) -> tuple[_State, Base, tuple[float, ...]]:
        if i not in self.states:
            problem = self.problems[i]
            self.states[i] = (_State(problem), base_of(problem), tier_weights(problem))
        return self.states[i]


def _walk(
    state: _State,
    base: Base,
    chooser: PolicyChooser | _SamplingChooser,
    weights: tuple[float, ...],
    order_noise: float,
    seed: int,
) -> float:
    trail = walk(
        state,
        base,
        chooser,
        np.random.default_rng(seed),
        deadline=math.inf,
        order_noise=order_noise,
        lift_limit=0,
    )
    return reward(base, trail.key, weights)


def score(
    net: PolicyNet, problems: Sequence[Problem], settings: TrainingSettings, orders: int = 4
) -> float:
    """Mean reward of the policy's best node every time, over ``problems`` in ``orders`` seeded
    pod orders each."""
    episodes = _Episodes(problems)
    chooser = PolicyChooser(net)
    rewards = []
    for i in range(len(problems)):
        state, base, weights = episodes.of(i)
        for seed in range(orders):
            rewards.append(_walk(state, base, chooser, weights, settings.order_noise, seed))
    return float(np.mean(rewards))


class _Adam:
    def __init__(self, net: PolicyNet, rate: float) -> None:
        self.rate = rate
        self.m = [np.zeros_like(p) for p in net.parameters]
        self.v = [np.zeros_like(p) for p in net.parameters]
        self.t = 0

    def step(self, gradient: tuple[FloatArray, ...]) -> tuple[FloatArray, ...]:
        """The ascent step for ``gradient``."""
        self.t += 1
        steps = []
        for i, g in enumerate(gradient):
            self.m[i] = 0.9 * self.m[i] + 0.1 * g
            self.v[i] = 0.999 * self.v[i] + 0.001 * g**2
            m = self.m[i] / (1 - 0.9**self.t)
            v = self.v[i] / (1 - 0.999**self.t)
            steps.append(self.rate * m / (np.sqrt(v) + 1e-8))
        return tuple(steps)


def train(
    net: PolicyNet, problems: Sequence[Problem], settings: TrainingSettings, seed: int
) -> tuple[PolicyNet, list[float]]:
    """The trained network and the mean reward of each step's episodes."""
    rng = np.random.default_rng(seed)
    episodes = _Episodes(problems)
    adam = _Adam(net, settings.learning_rate)
    history: list[float] = []
    for step in range(settings.steps):
        state, base, weights = episodes.of(step % len(problems))
        rewards, gradients = [], []
        for _ in range(settings.episodes):
            chooser = _SamplingChooser(net, rng, settings.temperature)
            order = int(rng.integers(1 << 30))
            rewards.append(_walk(state, base, chooser, weights, settings.order_noise, order))
            gradients.append(chooser.gradient)
        values = np.array(rewards)
        history.append(float(values.mean()))
        advantage = values - values.mean()
        if advantage.std() < 1e-9:
            continue  # every walk scored the same: nothing to learn from this problem now
        advantage /= advantage.std()
        mean = tuple(
            sum(a * g[i] for a, g in zip(advantage, gradients, strict=True)) / len(rewards)
            for i in range(len(net.parameters))
        )
        net = net.stepped(adam.step(mean))
    return net, history
