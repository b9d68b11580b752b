"""The policy as the prioritize verb's rule: its features from the room the verb sees, one pass of
the network over every candidate node, and the outputs mapped to kube-scheduler's 0..10.

The verb knows a node's allocatable and free room per resource (the store's columns), not a
problem, so the features are ``features.py``'s computed from those: the same shares of cpu, memory
and pod slots left once the pod is there, the pod's size against the node, the leftover's imbalance
and tightest share. What the verb cannot know is set where training saw it: the priority rank 0
(training's pending pods are below every running one) and no home (the verb never lifts a pod).

The rule's weights are ``prioritize.npz``, not the placement weights: trained to place, the
network prefers the tightest node so steeply that, added to kube-scheduler's scores, it acts as
pure best fit, which fragments more than kube-scheduler alone (docs/benchmarks.md, issue 16 session
7). ``prioritize.npz`` is the same network fitted to best fit's scores and then trained by
evolution strategies on the fragmentation benchmark's own outcome (``benchmarks/train_prioritize``);
its output is mapped alone, ``10 x sigmoid(score)`` (``SIGMOID``), so that, like best fit, a node
scores high only where the pod fills it, whatever the other candidates.

For the placement weights two relative mappings are kept, measured and not used: ``RATIO``,
``10 x exp((score - best) / T)``, the ratio of the probabilities with which the trained policy
(softmax(score / T)) would pick a node and its favourite, and ``RANGE``, min..max of the
candidates' outputs onto 0..10.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import CPU, MEMORY, PODS
from scheduler_ext.solvers.policy.features import FEATURES
from scheduler_ext.solvers.policy.network import PRIORITIZE_WEIGHTS_FILE, PolicyNet, shipped

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Quantities = npt.NDArray[Any]
"""Per node, one resource's quantity (int64, or Python ints below float64's exact range)."""

MAX_PRIORITY = 10
"""kube-scheduler's ``MaxExtenderPriority`` (extender/v1)."""
TEMPERATURE = 0.5
"""Training's softmax temperature (``TrainingSettings.temperature``), for ``RATIO``."""
PACKING = (CPU, MEMORY)
"""What fit is judged on, as ``features.py`` (``aco.heuristic.packing_columns``)."""
ScoreMap = Literal["ratio", "range", "sigmoid"]
RATIO: ScoreMap = "ratio"
RANGE: ScoreMap = "range"
SIGMOID: ScoreMap = "sigmoid"


@cache
def shipped_net() -> PolicyNet:
    """The package's prioritize weights, read once (on first use, not at import)."""
    return shipped(PRIORITIZE_WEIGHTS_FILE)


def scores32(net: PolicyNet, x: FloatArray) -> FloatArray:
    """``net.scores(x)`` in float32: numpy's float64 tanh is about 10x slower than its
    float32 one here (5.7 against 0.5 ms for 5,000 nodes, loaded machine), and a 0..10 score
    needs no more precision."""
    weights, bias, output = (p.astype(np.float32) for p in net.parameters)
    hidden = np.tanh(x.astype(np.float32) @ weights + bias)
    return np.asarray(hidden @ output, dtype=np.float64)


def room_features(
    demand: Mapping[str, int],
    free: Mapping[str, Quantities],
    alloc: Mapping[str, Quantities],
    count: int,
) -> FloatArray:
    """Nodes x ``FEATURES`` for one more pod of ``demand`` on each of ``count`` nodes, whose free
    room and allocatable per resource are ``free`` and ``alloc`` (absent: 0 on every node)."""
    out = np.zeros((count, len(FEATURES)))
    zero = np.zeros(count)
    lefts = []
    for slot, name in enumerate(PACKING):
        capacity = np.maximum(alloc.get(name, zero).astype(np.float64), 1.0)
        asked = float(demand.get(name, 0))
        left = np.clip((free.get(name, zero) - asked) / capacity, 0.0, 1.0)
        out[:, slot] = left
        out[:, 3 + slot] = np.clip(asked / capacity, 0.0, 1.0)
        lefts.append(left)
    slots = np.maximum(alloc.get(PODS, zero).astype(np.float64), 1.0)
    out[:, 2] = np.clip((free.get(PODS, zero) - 1.0) / slots, 0.0, 1.0)
    out[:, 5] = np.abs(lefts[0] - lefts[1])
    out[:, 6] = np.minimum(lefts[0], lefts[1])
    return out  # priority_rank (7) and home (8) stay 0: see the module's docstring


def priorities(
    raw: FloatArray, mapping: ScoreMap = SIGMOID, temperature: float = TEMPERATURE
) -> IntArray:
    """The network's outputs for the candidates -> 0..``MAX_PRIORITY``, the best at the top."""
    if not raw.size:
        return np.zeros(0, dtype=np.int64)
    best = raw.max()
    if mapping == SIGMOID:
        shares = 1.0 / (1.0 + np.exp(-raw))
    elif mapping == RANGE:
        spread = best - raw.min()
        if spread <= 0:
            return np.zeros(raw.size, dtype=np.int64)
        shares = (raw - raw.min()) / spread
    else:
        shares = np.exp((raw - best) / temperature)
    return np.asarray(np.rint(MAX_PRIORITY * shares), dtype=np.int64)


def policy_priorities(
    demand: Mapping[str, int],
    free: Mapping[str, Quantities],
    alloc: Mapping[str, Quantities],
    count: int,
    *,
    net: PolicyNet | None = None,
    mapping: ScoreMap = SIGMOID,
    temperature: float = TEMPERATURE,
) -> IntArray:
    """0..10 per candidate node (every one has room for the pod), by the policy (``net``: the
    shipped prioritize weights)."""
    model = net or shipped_net()
    raw = scores32(model, room_features(demand, free, alloc, count))
    return priorities(raw, mapping, temperature)
