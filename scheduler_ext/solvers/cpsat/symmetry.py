"""Solutions across identical nodes: into the order symmetry breaking wants, and back out of it.

Symmetry breaking (``constraints.add_symmetry_breaking``) makes identical nodes hold
non-increasing loads in the tier stages, so a hint must be reordered to satisfy it
(``symmetric_hint``) and a solution found there has its nodes' contents in load order, not where
the running pods are: taken as it is, every reordered pod would be a needless move, left for the
disruption stage to undo if it gets the time. ``least_disturbing`` gives each content back to the
identical node whose running pods it keeps most.
"""

from __future__ import annotations

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem


def symmetric_hint(
    problem: Problem, assignment: Assignment, groups: list[list[int]], weights: list[int]
) -> Assignment:
    """The same counts with identical nodes' contents reordered to satisfy symmetry breaking."""
    counts = assignment.counts()
    for group in groups:
        loads = {n: sum(weights[c] * row.get(n, 0) for c, row in enumerate(counts)) for n in group}
        by_load = sorted(group, key=lambda n: -loads[n])
        contents = {n: [row.get(n, 0) for row in counts] for n in group}
        for target, source in zip(group, by_load, strict=True):
            for c, row in enumerate(counts):
                row[target] = contents[source][c]
    return Assignment.from_counts(counts)


def least_disturbing(
    problem: Problem, assignment: Assignment, groups: list[list[int]]
) -> Assignment:
    """The same counts with each identical node's content moved to the node of its group whose
    running pods it keeps most (greedily, the largest kept counts first)."""
    counts = assignment.counts()
    running: dict[int, dict[int, int]] = {}
    for cls in problem.classes:
        for node, k in cls.running:
            running.setdefault(node, {})[cls.index] = k
    for group in groups:
        contents = {n: {c: row[n] for c, row in enumerate(counts) if row.get(n)} for n in group}
        target_of = _match(group, contents, running)
        for c, row in enumerate(counts):
            for source in group:
                row.pop(source, None)
            for source, target in target_of.items():
                if contents[source].get(c):
                    row[target] = contents[source][c]
    return Assignment.from_counts(counts)


def _match(
    group: list[int], contents: dict[int, dict[int, int]], running: dict[int, dict[int, int]]
) -> dict[int, int]:
    """Source node (whose content moves) -> target node, a permutation of ``group``."""
    holders: dict[int, list[int]] = {}  # class -> group nodes whose content has it
    for n, content in contents.items():
        for c in content:
            holders.setdefault(c, []).append(n)
    kept: dict[tuple[int, int], int] = {}  # (target, source) -> running pods kept
    for n in group:
        for c, k in running.get(n, {}).items():
            for source in holders.get(c, ()):
                kept[n, source] = kept.get((n, source), 0) + min(k, contents[source][c])
    target_of: dict[int, int] = {}
    taken: set[int] = set()
    for (target, source), _ in sorted(kept.items(), key=lambda item: -item[1]):
        if target not in taken and source not in target_of:
            target_of[source] = target
            taken.add(target)
    free = iter(n for n in group if n not in taken)
    for source in group:
        if source not in target_of:
            target_of[source] = next(free)
    return target_of
