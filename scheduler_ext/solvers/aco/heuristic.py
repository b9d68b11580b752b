"""How desirable a node is for one pod before pheromone is counted: fit and fragmentation.

Best fit (the least room left over, as a share of the node) packs big holes shut only when a pod
needs them; an unbalanced leftover (much CPU, no memory) is room no pod can use, so it counts
against the node. The values are positive, 1 at best, so that pheromone and heuristic multiply.
A learned policy (``solvers/policy``) can take this module's place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import CPU, MEMORY
from scheduler_ext.model.problem import PodClass
from scheduler_ext.solvers.greedy import _State

FloatArray = npt.NDArray[np.float64]
IntpArray = npt.NDArray[np.intp]

Heuristic = Callable[[_State, PodClass, IntpArray], FloatArray]
"""(state, class, nodes with room) -> desirability per node, positive."""

FIT_FLOOR = 0.05
"""Leftover share below which best fit stops telling nodes apart (full is not 20x better)."""


def packing_columns(resources: tuple[str, ...]) -> npt.NDArray[np.intp]:
    """The resources fit is judged on: cpu and memory, as kube-scheduler's scores do."""
    return np.array([i for i, name in enumerate(resources) if name in (CPU, MEMORY)], dtype=np.intp)


def leftover_shares(state: _State, cls: PodClass, nodes: IntpArray) -> FloatArray:
    """Nodes x packing resources: free room once the pod is there, as a share of the capacity."""
    columns = packing_columns(state.problem.resources)
    capacity = state.capacity[np.ix_(nodes, columns)].astype(np.float64)
    left = state.free[np.ix_(nodes, columns)] - state.demand[cls.index][columns]
    return np.asarray(np.clip(left / np.maximum(capacity, 1.0), 0.0, 1.0), dtype=np.float64)


def fit(state: _State, cls: PodClass, nodes: IntpArray) -> FloatArray:
    shares = leftover_shares(state, cls, nodes)
    if not shares.shape[1]:
        return np.ones(len(nodes))
    tight = FIT_FLOOR / (FIT_FLOOR + shares.mean(axis=1))
    balance = 1.0 - (shares.max(axis=1) - shares.min(axis=1))
    return np.asarray(tight * (0.5 + 0.5 * balance), dtype=np.float64)
