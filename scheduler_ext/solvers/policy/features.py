"""What the policy sees of one candidate node for one pod: room, fit and what placing costs.

Every feature is a share in [0, 1] (or a flag), so that one set of weights serves clusters of any
node size: the room left on cpu, memory and pod slots once the pod is there, the pod's size against
the node, how unbalanced the leftover is (room of one kind only is room no pod uses), the pod's
priority rank, and whether the node is where a lifted pod of this class ran (landing there undoes
a disturbance).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import CPU, PODS
from scheduler_ext.model.problem import PodClass
from scheduler_ext.solvers.aco.heuristic import leftover_shares, packing_columns
from scheduler_ext.solvers.greedy import _State

FloatArray = npt.NDArray[np.float64]
IntpArray = npt.NDArray[np.intp]

FEATURES = (
    "cpu_left",
    "memory_left",
    "pods_left",
    "cpu_asked",
    "memory_asked",
    "imbalance",
    "tightest_left",
    "priority_rank",
    "home",
)


def features(state: _State, cls: PodClass, nodes: IntpArray) -> FloatArray:
    """Nodes x ``FEATURES`` for one more pod of ``cls`` on each of ``nodes``."""
    out = np.zeros((len(nodes), len(FEATURES)))
    resources = state.problem.resources
    columns = packing_columns(resources)
    left = leftover_shares(state, cls, nodes)
    capacity = np.maximum(state.capacity[np.ix_(nodes, columns)].astype(np.float64), 1.0)
    asked = np.clip(state.demand[cls.index][columns] / capacity, 0.0, 1.0)
    for j, column in enumerate(columns.tolist()):
        slot = 0 if resources[column] == CPU else 1
        out[:, slot] = left[:, j]
        out[:, 3 + slot] = asked[:, j]
    if PODS in resources:
        p = resources.index(PODS)
        room = np.maximum(state.capacity[nodes, p].astype(np.float64), 1.0)
        out[:, 2] = np.clip((state.free[nodes, p] - 1) / room, 0.0, 1.0)
    if left.shape[1]:
        out[:, 5] = left.max(axis=1) - left.min(axis=1)
        out[:, 6] = left.min(axis=1)
    levels = max(1, len(state.priority_levels) - 1)
    out[:, 7] = state.level_of[cls.priority] / levels
    running = state.running[cls.index]
    if running:
        counts = state.counts[cls.index]
        homes = [n for n, k in running.items() if k > counts.get(n, 0)]
        out[:, 8] = np.isin(nodes, np.array(homes, dtype=np.intp))
    return out
