"""Moves a solution does not need, undone: pods sent away from a node they could stay on.

A tier stage's objective ignores where pods run, so its solution may move running pods where
nothing requires it; the disruption stage removes those moves only when it gets the time, and on
the paper's 16-32 node instances even 5 s of it left most of them (docs/benchmarks.md, "Issue 15,
session 8"). ``fewer_disturbed`` does that work in Python with two kinds of step, repeated until
neither applies:

- **return**: a class has fewer pods on a node than run there and the node has room for one
  more: one goes back, taken from a node where the class gained pods (a move undone) or, when the
  class lost pods to evictions, added (an eviction undone: one pod more placed);
- **return by re-landing**: the same, where the node has no room, but a pod that *landed* there
  (the class has more pods there than run there: moved in or newly bound) can land on another
  node instead, which frees the room. The re-landed pod stays a landing (no pod more disturbed),
  or returns to its own home (one fewer).

Every step keeps the pods placed per class (or places one more), respects each class's eligible
nodes and every node's capacity, and disturbs at least one pod less. It is only used where
nothing but capacities matters (no inter-pod rule, no overcommitted node).
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.assignment import Assignment, node_load
from scheduler_ext.model.problem import Problem


def applies(problem: Problem) -> bool:
    return not problem.has_interpod and not problem.strict_capacity


class _State:
    """Counts, running pods and free room, updated in place by the steps."""

    def __init__(self, problem: Problem, assignment: Assignment) -> None:
        self.problem = problem
        self.counts = assignment.counts()
        self.running = [cls.running_on() for cls in problem.classes]
        self.demand = [np.array(cls.demand, dtype=np.int64) for cls in problem.classes]
        self.eligible = [np.array(cls.eligible, dtype=np.intp) for cls in problem.classes]
        self.free: npt.NDArray[np.int64] = problem.capacity_matrix - node_load(problem, self.counts)
        self.evicted = [
            cls.running_count - sum(row.values())
            for cls, row in zip(problem.classes, self.counts, strict=True)
        ]

    def lost(self, c: int) -> list[int]:
        """Nodes where class ``c`` has fewer pods than run there."""
        row, running = self.counts[c], self.running[c]
        return [n for n, k in running.items() if row.get(n, 0) < k]

    def gained(self, c: int) -> list[int]:
        """Nodes where class ``c`` has more pods than run there (landings)."""
        row, running = self.counts[c], self.running[c]
        return [n for n, k in row.items() if k > running.get(n, 0)]

    def fits(self, node: int, c: int, extra: npt.NDArray[np.int64] | None = None) -> bool:
        room = self.free[node] if extra is None else self.free[node] + extra
        return bool((room >= self.demand[c]).all())

    def may_land(self, c: int, node: int) -> bool:
        """A pod of ``c`` may be added on ``node``: eligible there, or returning home."""
        return node in self.problem.classes[c].eligible_set or self.counts[c].get(
            node, 0
        ) < self.running[c].get(node, 0)

    def add(self, c: int, node: int) -> None:
        self.counts[c][node] = self.counts[c].get(node, 0) + 1
        self.free[node] -= self.demand[c]

    def remove(self, c: int, node: int) -> None:
        self.counts[c][node] -= 1
        if not self.counts[c][node]:
            del self.counts[c][node]
        self.free[node] += self.demand[c]

    def take_one(self, c: int) -> bool:
        """Free one pod of class ``c`` to go home: off a landing node, or an eviction undone."""
        gained = self.gained(c)
        if gained:
            self.remove(c, gained[-1])
            return True
        if self.evicted[c] > 0:
            self.evicted[c] -= 1
            return True
        return False


def _returns(state: _State) -> bool:
    """Every single step back a class's home has room for; True if any was taken."""
    changed = False
    for c in range(len(state.counts)):
        for home in state.lost(c):
            while state.counts[c].get(home, 0) < state.running[c][home] and state.fits(home, c):
                if not state.take_one(c):
                    break
                state.add(c, home)
                changed = True
    return changed


MAX_CHAIN = 5
"""Pods one chain of steps may move (a return, the pods making room for it, one by one)."""
MAX_TRIES = 2_000
"""Tentative moves and landing nodes one chain may try before it is given up: keeps a step's
cost bounded where thousands of nodes could each take a re-landed pod."""


class _Chain:
    """Tentative moves: per node the room change, per (class, node) the count change."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.room: dict[int, npt.NDArray[np.int64]] = {}
        self.count: dict[tuple[int, int], int] = {}
        self.tries = 0
        self.steps: list[tuple[int, int | None, int | None]] = []
        """(class, from node or None for an eviction undone, to node or None for a pending pod
        left pending)."""

    def now(self, c: int, node: int) -> int:
        return self.state.counts[c].get(node, 0) + self.count.get((c, node), 0)

    def balance(self, node: int) -> npt.NDArray[np.int64]:
        free: npt.NDArray[np.int64] = self.state.free[node]
        extra = self.room.get(node)
        return free if extra is None else free + extra

    def push(self, c: int, source: int | None, target: int | None) -> None:
        demand = self.state.demand[c]
        if source is not None:
            self.room[source] = self.room.get(source, 0) + demand
            self.count[c, source] = self.count.get((c, source), 0) - 1
        if target is not None:
            self.room[target] = self.room.get(target, 0) - demand
            self.count[c, target] = self.count.get((c, target), 0) + 1
        self.steps.append((c, source, target))
        self.tries += 1

    def pop(self) -> None:
        c, source, target = self.steps.pop()
        demand = self.state.demand[c]
        if source is not None:
            self.room[source] = self.room[source] - demand
            self.count[c, source] += 1
        if target is not None:
            self.room[target] = self.room[target] + demand
            self.count[c, target] -= 1

    def apply(self) -> None:
        for c, source, target in self.steps:
            if source is None:
                self.state.evicted[c] -= 1
            else:
                self.state.remove(c, source)
            if target is not None:
                self.state.add(c, target)


def _close(chain: _Chain, node: int, landed_on: dict[int, list[int]], depth: int) -> bool:
    """Make room on ``node`` (over-full after the chain's last arrival) by moving one pod that
    landed there: home (then on, if its home is full in turn), or anywhere it fits."""
    state = chain.state
    if (chain.balance(node) >= 0).all():
        return True
    if depth >= MAX_CHAIN or chain.tries >= MAX_TRIES:
        return False
    for other in landed_on.get(node, ()):
        if chain.now(other, node) <= state.running[other].get(node, 0):
            continue  # none of its pods there is a landing any more
        after = chain.balance(node) + state.demand[other]
        if not (after >= 0).all():
            continue
        # Its own home first: one pod fewer disturbed.
        for home, running in state.running[other].items():
            if home != node and chain.now(other, home) < running:
                chain.push(other, node, home)
                if _close(chain, home, landed_on, depth + 1):
                    return True
                chain.pop()
        target = _landing_node(chain, other, node)
        if target is not None:
            chain.push(other, node, target)
            return True
    return False


def _landing_node(chain: _Chain, c: int, away_from: int) -> int | None:
    """An eligible node other than ``away_from`` with room for a pod of ``c``, the chain's
    moves counted."""
    state = chain.state
    eligible = state.eligible[c]
    fits = np.zeros(len(state.free), dtype=bool)
    fits[eligible] = (state.free[eligible] >= state.demand[c]).all(axis=1)
    for node in chain.room:  # the few nodes the chain changed
        fits[node] = fits[node] or node in state.problem.classes[c].eligible_set
        fits[node] = fits[node] and bool((chain.balance(node) >= state.demand[c]).all())
    fits[away_from] = False
    found = np.flatnonzero(fits)
    return int(found[0]) if len(found) else None


def _chains(state: _State, deadline: float | None) -> bool:
    """One return made possible by moving the pods that landed on its node; True if taken."""
    landed_on: dict[int, list[int]] = {}
    for c in range(len(state.counts)):
        for n in state.gained(c):
            landed_on.setdefault(n, []).append(c)
    for c in range(len(state.counts)):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        sources = state.gained(c)
        if not sources and state.evicted[c] <= 0:
            continue
        for home in state.lost(c):
            candidates: list[int | None] = [*sources] if sources else [None]
            for source in candidates:
                chain = _Chain(state)
                chain.push(c, source, home)
                if _close(chain, home, landed_on, 1):
                    chain.apply()
                    return True
    return _trades(state, landed_on, deadline)


def _trades(state: _State, landed_on: dict[int, list[int]], deadline: float | None) -> bool:
    """One eviction undone for a pending pod of the same priority left pending instead (the
    placed count per priority unchanged, one pod fewer disturbed); True if taken."""
    classes = state.problem.classes
    bound = [
        c for c, cls in enumerate(classes) if sum(state.counts[c].values()) > cls.running_count
    ]
    for c in range(len(state.counts)):
        if state.evicted[c] <= 0:
            continue
        if deadline is not None and time.monotonic() >= deadline:
            return False
        for home in state.lost(c):
            for other in bound:
                if classes[other].priority != classes[c].priority or other == c:
                    continue
                for node in state.gained(other):
                    chain = _Chain(state)
                    chain.push(other, node, None)
                    chain.push(c, None, home)
                    if _close(chain, home, landed_on, 2):
                        chain.apply()
                        return True
    return False


def fewer_disturbed(
    problem: Problem, assignment: Assignment, deadline: float | None = None
) -> Assignment:
    """``assignment`` with as many needless moves and evictions undone as the steps find, until
    ``deadline`` (monotonic; each step keeps the assignment valid, so stopping early is safe)."""
    state = _State(problem, assignment)
    _returns(state)
    while deadline is None or time.monotonic() < deadline:
        if not _chains(state, deadline):
            break
        _returns(state)
    return Assignment.from_counts(state.counts)


def return_moved(problem: Problem, assignment: Assignment) -> Assignment:
    """Only the single steps back (``fewer_disturbed``'s first kind)."""
    state = _State(problem, assignment)
    _returns(state)
    return Assignment.from_counts(state.counts)
