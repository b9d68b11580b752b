"""Nodes grouped by what a pod can tell apart about them: capacity and which classes may land.

Pheromone is kept per (pod class, node group), not per node: a 5,000-node cluster built from a
few node pools has a few dozen groups, so the colony learns "this class goes to big memory nodes"
from every ant instead of needing each of 5,000 nodes to be tried. Free room is not part of the
signature: it changes with every pod placed, and the heuristic sees it per node.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.problem import Problem

_PRIME = np.uint64(1_000_003)


def node_groups(problem: Problem) -> npt.NDArray[np.intp]:
    """Group index per node: equal for nodes with the same landing capacity and eligibility.

    Eligibility is hashed (each distinct eligible set once); a collision only makes two groups
    share pheromone, never a plan invalid."""
    count = len(problem.nodes)
    signature = np.zeros(count, dtype=np.uint64)
    everywhere = tuple(range(count))
    seen: dict[tuple[int, ...], int] = {}
    for cls in problem.classes:
        if cls.eligible == everywhere:
            continue
        if cls.eligible in seen:
            continue
        set_id = seen[cls.eligible] = len(seen) + 1
        nodes = np.fromiter(cls.eligible, dtype=np.intp, count=len(cls.eligible))
        with np.errstate(over="ignore"):
            signature[nodes] = signature[nodes] * _PRIME + np.uint64(set_id)
    capacity = problem.landing_capacity_matrix
    keys = np.concatenate([capacity, signature.astype(np.int64)[:, None]], axis=1)
    _, groups = np.unique(keys, axis=0, return_inverse=True)
    return np.asarray(groups.reshape(count), dtype=np.intp)
