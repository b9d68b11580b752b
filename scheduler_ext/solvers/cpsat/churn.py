"""Moves a solution does not need, undone: a pod sent away from a node that still has room for it.

A tier stage's objective ignores where pods run, so its solution may move running pods where
nothing requires it; the disruption stage removes those moves only when it gets the time (under
load it often ends ``unknown``). ``return_moved`` takes the cheap part of that work in Python:
while a class has fewer pods on a node than run there and more elsewhere than run there, and
the node has room for one more of its pods, one goes back. Every such step keeps the pods placed
per class (so per priority), frees room elsewhere, and disturbs one pod less. It is only used
where nothing but capacities matters (no inter-pod rule, no overcommitted node).
"""

from __future__ import annotations

import numpy as np

from scheduler_ext.model.assignment import Assignment, node_load
from scheduler_ext.model.problem import Problem


def applies(problem: Problem) -> bool:
    return not problem.has_interpod and not problem.strict_capacity


def return_moved(problem: Problem, assignment: Assignment) -> Assignment:
    """``assignment`` with as many needless moves undone as single steps back can undo."""
    counts = assignment.counts()
    free = problem.capacity_matrix - node_load(problem, counts)
    changed = True
    while changed:
        changed = False
        for cls in problem.classes:
            row = counts[cls.index]
            running = cls.running_on()
            lost = [n for n, k in running.items() if row.get(n, 0) < k]
            if not lost:
                continue
            gained = [n for n, k in row.items() if k > running.get(n, 0)]
            demand = np.array(cls.demand, dtype=np.int64)
            for home in lost:
                while gained and row.get(home, 0) < running[home] and np.all(free[home] >= demand):
                    away = gained[-1]
                    row[home] = row.get(home, 0) + 1
                    row[away] -= 1
                    free[home] -= demand
                    free[away] += demand
                    changed = True
                    if row[away] <= running.get(away, 0):
                        gained.pop()
    return Assignment.from_counts(counts)
