"""One ant: a randomised kube-scheduler-like pass over the pods that need a node, with lifts.

An ant starts from the current placement and takes the pods highest priority first, as greedy
does (``solvers/greedy.py``), on greedy's own ``_State``, so that room, disruption budgets,
``max_disruptions``, the inter-pod rules and ``preemptionPolicy: Never`` are kept by the same code
and every ant's result is a plan. Two things differ from greedy:

- the node is *chosen* by a ``Chooser`` (pheromone and a heuristic, or a learned policy), not by
  kube-scheduler's score, and pods of one priority come largest first with some noise;
- when no node has room, the pod may *lift* pods off one node: movable pods of lower priority
  (as kube-scheduler's preemption does) and, for a pod that was pending, of its own priority too.
  Lifted pods go back to the queue and usually land elsewhere, which makes the lift a move: that
  is what defragments. A lifted pod that finds no home is an eviction; the lexicographic score
  decides whether the trade paid.

Every change is journalled and undone after the walk, so one ``_State`` serves the whole colony
(building it costs as much as an ant on a large cluster).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.assignment import Assignment, current_assignment, evaluate
from scheduler_ext.model.problem import PodClass, Problem
from scheduler_ext.solvers.greedy import Victims, _State

IntpArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

DEADLINE_CHECK_EVERY = 32
"""Queue pops between two looks at the clock."""
LIFT_TARGETS = 32
"""Nodes considered for one lift, those needing the least room freed first."""
LIFT_TRIES = 4
"""Of those, how many the ant tries in its chooser's order before giving the pod up."""


class Chooser(Protocol):
    """Where an ant's pods go: the colony's pheromone, or a learned policy."""

    def place(self, state: _State, cls: PodClass, nodes: IntpArray) -> int:
        """Index into ``nodes`` (each has room for one more pod of ``cls``) of the chosen node."""
        ...

    def targets(
        self, state: _State, cls: PodClass, nodes: IntpArray, deficit: FloatArray
    ) -> IntpArray:
        """``nodes`` (where lifting pods could make room) in the order the ant tries them;
        ``deficit`` is the room missing on each, as a share of its capacity."""
        ...


@dataclass(frozen=True)
class Base:
    """The current placement, which every walk starts from, and its score."""

    assignment: Assignment
    key: tuple[int, ...]
    position: dict[int, int]
    """Priority -> its index in the key."""


@dataclass(frozen=True)
class Trail:
    """What one ant did: its score, the counts it changed, and the choices to reinforce."""

    base: Base
    key: tuple[int, ...]
    """``evaluate(problem, assignment).key``, counted over the nodes the ant changed."""
    changes: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]
    """(class, ((node, new count), ...)) where the ant changed the base's counts."""
    landings: tuple[tuple[int, int], ...]
    """(class, node) of every pod the ant placed, lifted ones included."""
    lifts: tuple[tuple[int, int], ...]
    """(class, node) of every lift: the node a pod of that class was made room on."""
    complete: bool
    """False when the deadline stopped the walk (the assignment is still a plan)."""

    @cached_property
    def assignment(self) -> Assignment:
        """Built only when asked: most ants lose, and this costs O(pods of the classes moved)."""
        placement = list(self.base.assignment.placement)
        for c, changed in self.changes:
            counts = dict(placement[c])
            counts.update(changed)
            placement[c] = tuple(sorted((n, k) for n, k in counts.items() if k > 0))
        return Assignment(tuple(placement))


class _Journal:
    """``_State.change`` with a log, so that the walk can be undone exactly."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.log: list[tuple[PodClass, int, int]] = []

    def change(self, cls: PodClass, node: int, delta: int) -> None:
        self.state.change(cls, node, delta)
        self.log.append((cls, node, delta))

    def undo(self) -> None:
        for cls, node, delta in reversed(self.log):
            self.state.change(cls, node, -delta)
        self.log.clear()


_Item = tuple[int, float, int, int, bool]
"""Queue entry: (-priority, order within the priority, sequence, class index, was pending)."""


class _Walk:
    def __init__(self, state: _State, chooser: Chooser, rng: np.random.Generator) -> None:
        self.state = state
        self.journal = _Journal(state)
        self.chooser = chooser
        self.rng = rng
        self.queue: list[_Item] = []
        self.sequence = 0
        self.landings: list[tuple[int, int]] = []
        self.lifts: list[tuple[int, int]] = []
        capacity = state.capacity.astype(np.float64)
        self.scale = np.maximum(capacity.mean(axis=0), 1.0)

    def push(self, cls: PodClass, pending: bool, noise: float) -> None:
        size = float((self.state.demand[cls.index] / self.scale).sum())
        order = -size * (1.0 + noise * float(self.rng.random()))
        heapq.heappush(self.queue, (-cls.priority, order, self.sequence, cls.index, pending))
        self.sequence += 1

    def step(self, cls: PodClass, pending: bool, noise: float, lifts_left: int) -> bool:
        """Place one pod of ``cls``; returns whether it lifted pods to do so."""
        state = self.state
        demand = state.demand[cls.index]
        mask = state.eligible_mask(cls)
        fits = state.inter_pod_fits(
            cls, np.flatnonzero(mask & np.all(state.free >= demand, axis=1))
        )
        if len(fits):
            node = int(fits[self.chooser.place(state, cls, fits)])
            self.journal.change(cls, node, +1)
            self.landings.append((cls.index, node))
            return False
        if lifts_left <= 0:
            return False
        chosen = self._lift(cls, pending, demand, mask)
        if chosen is None:
            return False
        node, victims = chosen
        for victim, k in victims:
            self.journal.change(victim, node, -k)
            for _ in range(k):
                self.push(victim, False, noise)
        self.journal.change(cls, node, +1)
        self.landings.append((cls.index, node))
        self.lifts.append((cls.index, node))
        return True

    def _lift(
        self,
        cls: PodClass,
        pending: bool,
        demand: npt.NDArray[np.int64],
        mask: npt.NDArray[np.bool_],
    ) -> tuple[int, Victims] | None:
        state = self.state
        own = state.level_of[cls.priority]
        low = 0 if cls.preempts else own  # a Never pod leaves no lower pod homeless
        high = own + 1 if pending else own
        if low >= high:
            return None
        freeable = state.level_usage[low:high].sum(axis=0)
        nodes = np.flatnonzero(mask & np.all(state.free + freeable >= demand, axis=1))
        if not len(nodes):
            return None
        capacity = np.maximum(state.capacity[nodes], 1)
        deficit = (np.maximum(0, demand - state.free[nodes]) / capacity).sum(axis=1)
        if len(nodes) > LIFT_TARGETS:
            keep = np.argpartition(deficit, LIFT_TARGETS)[:LIFT_TARGETS]
            nodes, deficit = nodes[keep], deficit[keep]
        bounds = (state.priority_levels[low], state.priority_levels[high - 1])
        for node in self.chooser.targets(state, cls, nodes, deficit)[:LIFT_TRIES]:
            victims = self._victims(cls, int(node), demand, bounds)
            if (
                victims
                and state.allowed_together(int(node), victims)
                and state.victims_allowed(cls, int(node), victims)
            ):
                return int(node), victims
        return None

    def _victims(
        self, cls: PodClass, node: int, need: npt.NDArray[np.int64], bounds: tuple[int, int]
    ) -> Victims:
        """The pods to lift off ``node``: all that may go, then the most important reprieved
        first (greedy's ``_victims_on``, over a priority range and in a random order within one
        priority, so that ants try different pods)."""
        state = self.state
        room: list[int] = state.free[node].tolist()
        takeable: Victims = []
        for c, k in state.on_node[node].items():
            victim = state.problem.classes[c]
            if k <= 0 or c == cls.index or not bounds[0] <= victim.priority <= bounds[1]:
                continue
            n = state.evictable(victim, node, k)
            if n > 0:
                takeable.append((victim, n))
                room = [r + d * n for r, d in zip(room, victim.demand, strict=True)]
        wanted: list[int] = need.tolist()
        if not takeable or any(r < a for r, a in zip(room, wanted, strict=True)):
            return []
        order = self.rng.permutation(len(takeable)).tolist()
        shuffled = sorted((takeable[i] for i in order), key=lambda item: -item[0].priority)
        victims: Victims = []
        for victim, n in shuffled:
            spare = [
                (r - a) // d for r, a, d in zip(room, wanted, victim.demand, strict=True) if d > 0
            ]
            keep = max(0, min([n, *spare]))
            room = [r - d * keep for r, d in zip(room, victim.demand, strict=True)]
            if n - keep > 0:
                victims.append((victim, n - keep))
        return victims


def base_of(problem: Problem) -> Base:
    current = current_assignment(problem)
    position = {p: i for i, p in enumerate(problem.priorities)}
    return Base(current, evaluate(problem, current).key, position)


def _outcome(state: _State, base: Base, log: list[tuple[PodClass, int, int]]) -> Trail:
    """The walk's score and changes from its journal alone (``evaluate`` over every class would
    cost more than the walk on a large cluster). The base is the current placement, where each
    class's count on a node is its running count: a node's disturbed pods are then
    max(0, running - count) after the walk, and a class's evictions max(0, -net change)."""
    changed: dict[int, set[int]] = {}
    for cls, node, _ in log:
        changed.setdefault(cls.index, set()).add(node)
    key = list(base.key)
    changes = []
    for c, nodes in changed.items():
        cls = state.problem.classes[c]
        running = state.running[c]
        counts = state.counts[c]
        after = tuple((n, counts.get(n, 0)) for n in sorted(nodes))
        net = sum(k - running.get(n, 0) for n, k in after)
        key[base.position[cls.priority]] += net
        key[-2] -= sum(max(0, running.get(n, 0) - k) for n, k in after)
        key[-1] -= max(0, -net)
        changes.append((c, after))
    return Trail(
        base=base, key=tuple(key), changes=tuple(changes), landings=(), lifts=(), complete=True
    )


def walk(
    state: _State,
    base: Base,
    chooser: Chooser,
    rng: np.random.Generator,
    *,
    deadline: float,
    order_noise: float,
    lift_limit: int,
) -> Trail:
    """One ant's assignment from the current placement; ``state`` is left as it was found."""
    ant = _Walk(state, chooser, rng)
    for cls in state.problem.classes:
        for _ in range(cls.pending_count):
            ant.push(cls, True, order_noise)
    lifts_left = lift_limit
    complete = True
    pops = 0
    while ant.queue:
        pops += 1
        if pops % DEADLINE_CHECK_EVERY == 0 and time.monotonic() > deadline:
            complete = False
            break
        _, _, _, index, pending = heapq.heappop(ant.queue)
        if ant.step(state.problem.classes[index], pending, order_noise, lifts_left):
            lifts_left -= 1
    trail = replace(
        _outcome(state, base, ant.journal.log),
        landings=tuple(ant.landings),
        lifts=tuple(ant.lifts),
        complete=complete,
    )
    ant.journal.undo()
    return trail
