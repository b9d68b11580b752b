"""Greedy placement the way kube-scheduler does it: one pod at a time, with single-node preemption.

This is the floor every plan stands on: the CP-SAT model's first hint, the fallback when a solve
fails, and what the benchmarks call the baseline. Pods are taken highest priority first; each goes
to the feasible node with the best score, and when none fits, kube-scheduler's DefaultPreemption
picks one node where evicting lower-priority pods makes room (the fewest and least important
victims, highest-priority victims reprieved first). Victims go back to the queue and may land
elsewhere, which turns their eviction into a move. Every preemption trades lower-priority pods for
a higher-priority one, so the result is never lexicographically worse than the current placement.

Node state is kept in numpy arrays so that a pod costs a few vector operations over all nodes; the
preemption search looks only at nodes where the lower-priority pods could free enough room.

Inter-pod rules (anti-affinity, affinity, topology spread, ``preemptionPolicy: Never``) are kept as
the model's final-state rules after every step (``model/interpod_state.py``): a pod goes only where
they still hold once it is there, a preemption only takes victims whose leaving keeps them, and a
Never pod never preempts (``DefaultPreemption.PodEligibleToPreemptOthers``). These rules are at
least as strict as kube-scheduler's filters in the landing order every plan assumes, so the result
is a plan too.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import defaultdict
from typing import Literal

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import CPU, MEMORY
from scheduler_ext.model.assignment import Assignment, current_assignment, node_load
from scheduler_ext.model.interpod_state import InterPodState
from scheduler_ext.model.problem import PodClass, Problem
from scheduler_ext.solvers.base import SolveResult, StageReport, StageStatus

logger = logging.getLogger(__name__)

Strategy = Literal["spread", "pack"]
IntArray = npt.NDArray[np.int64]


class DeadlineReached(Exception):
    """The deadline passed while the state was being built (a large cluster on a loaded core)."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineReached


class _State:
    """Counts, free room and disruption budgets, updated one pod at a time."""

    def __init__(self, problem: Problem, deadline: float | None = None) -> None:
        self.problem = problem
        # Room for pods that land: an overcommitted node's within its allocatable only.
        self.capacity: IntArray = problem.landing_capacity_matrix
        self.counts = current_assignment(problem).counts()
        _check(deadline)
        self.running = [cls.running_on() for cls in problem.classes]
        self.demand = [np.array(cls.demand, dtype=np.int64) for cls in problem.classes]
        self.free = self.capacity - node_load(problem, self.counts)
        _check(deadline)
        self.budget_left = list(problem.budget_limits)
        self.total_left = problem.max_disruptions
        self.priority_levels = sorted({cls.priority for cls in problem.classes})
        self.level_of = {p: i for i, p in enumerate(self.priority_levels)}
        # Room held by each priority level per node: what preemption could free.
        self.level_usage: IntArray = np.zeros(
            (len(self.priority_levels), *self.capacity.shape), dtype=np.int64
        )
        self.on_node: list[dict[int, int]] = [defaultdict(int) for _ in problem.nodes]
        levels: list[int] = []
        nodes: list[int] = []
        amounts: list[int] = []
        classes: list[int] = []
        for cls, placed in zip(problem.classes, self.counts, strict=True):
            if cls.index % 256 == 0:
                _check(deadline)
            level = self.level_of[cls.priority]
            for node, k in placed.items():
                self.on_node[node][cls.index] += k
                levels.append(level)
                nodes.append(node)
                amounts.append(k)
                classes.append(cls.index)
        if nodes:
            demands = np.array([cls.demand for cls in problem.classes], dtype=np.int64)
            demands = demands.reshape(len(problem.classes), len(problem.resources))
            used = np.array(amounts, dtype=np.int64)[:, None] * demands[classes]
            np.add.at(self.level_usage, (np.array(levels), np.array(nodes)), used)
        _check(deadline)
        self._masks: dict[int, npt.NDArray[np.bool_]] = {}
        self.inter = InterPodState(problem, self.counts) if problem.has_interpod else None

    def eligible_mask(self, cls: PodClass) -> npt.NDArray[np.bool_]:
        mask = self._masks.get(cls.index)
        if mask is None:
            mask = np.zeros(len(self.problem.nodes), dtype=bool)
            mask[list(cls.eligible)] = True
            self._masks[cls.index] = mask
        return mask

    def _disturbed(self, cls: PodClass, node: int, count: int) -> int:
        return max(0, self.running[cls.index].get(node, 0) - count)

    def change(self, cls: PodClass, node: int, delta: int) -> None:
        before = self.counts[cls.index].get(node, 0)
        after = before + delta
        newly = self._disturbed(cls, node, after) - self._disturbed(cls, node, before)
        for b in cls.budgets:
            self.budget_left[b] -= newly
        if self.total_left is not None:
            self.total_left -= newly
        self.counts[cls.index][node] = after
        self.on_node[node][cls.index] += delta
        if self.inter is not None:
            self.inter.change(cls, node, delta)
        used = self.demand[cls.index] * delta
        self.free[node] -= used
        self.level_usage[self.level_of[cls.priority], node] += used

    def inter_pod_fits(self, cls: PodClass, nodes: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """Those of ``nodes`` where one more pod of ``cls`` keeps the inter-pod rules."""
        if self.inter is None or not len(nodes):
            return nodes
        return nodes[self.inter.model_mask(cls, nodes)]

    def victims_allowed(
        self, cls: PodClass, node: int, victims: list[tuple[PodClass, int]]
    ) -> bool:
        """Whether the inter-pod rules still hold once ``victims`` leave ``node`` and a pod of
        ``cls`` takes their place (tried and undone)."""
        if self.inter is None:
            return True
        for victim, k in victims:
            self.change(victim, node, -k)
        ok = self.inter.model_holds([v for v, _ in victims]) and bool(
            self.inter.model_mask(cls, np.array([node], dtype=np.intp))[0]
        )
        for victim, k in victims:
            self.change(victim, node, +k)
        return ok

    def evictable(self, cls: PodClass, node: int, count: int) -> int:
        """How many of ``count`` pods of ``cls`` on ``node`` the budgets allow to take off."""
        running_here = self.running[cls.index].get(node, 0)
        placed = self.counts[cls.index].get(node, 0)
        free_moves = max(0, placed - running_here)  # pods added by this plan: no disruption
        limit = count
        costly = max(0, count - free_moves)
        allowances = [self.budget_left[b] for b in cls.budgets]
        if self.total_left is not None:
            allowances.append(self.total_left)
        if allowances:
            costly = min(costly, max(0, min(allowances)))
            limit = min(count, free_moves + costly)
        return limit

    def allowed_together(self, node: int, victims: Victims) -> bool:
        """``evictable`` bounds each class alone; victims of several classes under one budget,
        or under ``max_disruptions``, must also fit it together."""
        used: defaultdict[int, int] = defaultdict(int)
        total = 0
        for victim, k in victims:
            placed = self.counts[victim.index].get(node, 0)
            newly = self._disturbed(victim, node, placed - k) - self._disturbed(
                victim, node, placed
            )
            total += newly
            for b in victim.budgets:
                used[b] += newly
        if self.total_left is not None and total > self.total_left:
            return False
        return all(used[b] <= self.budget_left[b] for b in used)


def _scores(
    state: _State, candidates: npt.NDArray[np.intp], demand: IntArray, strategy: Strategy
) -> npt.NDArray[np.float64]:
    """kube-scheduler's LeastAllocated + BalancedAllocation on cpu and memory (or MostAllocated)."""
    columns = np.array(
        [i for i, name in enumerate(state.problem.resources) if name in (CPU, MEMORY)],
        dtype=np.intp,
    )
    if not len(columns):
        return np.zeros(len(candidates))
    capacity = state.capacity[np.ix_(candidates, columns)].astype(np.float64)
    requested = capacity - state.free[np.ix_(candidates, columns)] + demand[columns]
    safe = np.where(capacity > 0, capacity, 1.0)
    fraction = np.clip(requested / safe, 0.0, 1.0)
    fit = fraction.mean(axis=1) if strategy == "pack" else (1.0 - fraction).mean(axis=1)
    balance = 1.0 - fraction.std(axis=1)
    return np.asarray(fit + balance, dtype=np.float64)


PREEMPTION_CANDIDATES = 24
"""Nodes examined per preemption, those needing the least room freed first."""


Victims = list[tuple[PodClass, int]]


def _preemption_candidates(
    state: _State, cls: PodClass, demand: IntArray, mask: npt.NDArray[np.bool_]
) -> list[int]:
    """Nodes where evicting lower-priority pods could make room, least room missing first."""
    freeable = state.level_usage[: state.level_of[cls.priority]].sum(axis=0)
    candidates = np.flatnonzero(mask & np.all(state.free + freeable >= demand, axis=1))
    if len(candidates) > PREEMPTION_CANDIDATES:
        capacity = np.maximum(state.capacity[candidates], 1)
        deficit = (np.maximum(0, demand - state.free[candidates]) / capacity).sum(axis=1)
        candidates = candidates[np.argsort(deficit, kind="stable")[:PREEMPTION_CANDIDATES]]
    return [int(n) for n in candidates]


def _victims_on(state: _State, cls: PodClass, node: int, need: list[int]) -> Victims:
    """The fewest and least important lower-priority pods on ``node`` whose eviction makes room
    (``SelectVictimsOnNode``: all that may go, then the most important reprieved first)."""
    room: list[int] = state.free[node].tolist()
    takeable: list[tuple[PodClass, int]] = []
    for c, k in state.on_node[node].items():
        victim = state.problem.classes[c]
        n = state.evictable(victim, node, k) if k > 0 and victim.priority < cls.priority else 0
        if n > 0:
            takeable.append((victim, n))
            room = [r + a * n for r, a in zip(room, victim.demand, strict=True)]
    if any(r < a for r, a in zip(room, need, strict=True)):
        return []
    victims: Victims = []
    for victim, n in sorted(takeable, key=lambda item: -item[0].priority):
        keep = min(
            [n] + [(r - a) // d for r, a, d in zip(room, need, victim.demand, strict=True) if d > 0]
        )
        keep = max(0, keep)
        room = [r - d * keep for r, d in zip(room, victim.demand, strict=True)]
        if n - keep > 0:
            victims.append((victim, n - keep))
    return victims if state.allowed_together(node, victims) else []


def _preempt(
    state: _State, cls: PodClass, demand: IntArray, mask: npt.NDArray[np.bool_]
) -> tuple[int, Victims] | None:
    """kube-scheduler's DefaultPreemption on one node: (node, victims) or None."""
    if state.level_of[cls.priority] == 0 or not cls.preempts:
        return None  # preemptionPolicy Never: kube-scheduler never preempts for it
    need = demand.tolist()
    best: tuple[tuple[int, int, int], int, Victims] | None = None
    for node in _preemption_candidates(state, cls, demand, mask):
        victims = _victims_on(state, cls, node, need)
        if not victims or not state.victims_allowed(cls, node, victims):
            continue
        rank = (
            max(v.priority for v, _ in victims),
            sum(v.priority * k for v, k in victims),
            sum(k for _, k in victims),
        )
        if best is None or rank < best[0]:
            best = (rank, node, victims)
    return None if best is None else (best[1], best[2])


def solve_greedy(
    problem: Problem,
    *,
    strategy: Strategy = "spread",
    preemption: bool = True,
    deadline: float | None = None,
) -> SolveResult:
    """Place pending pods one at a time; never worse than the current placement."""
    started = time.monotonic()
    try:
        state = _State(problem, deadline)
    except DeadlineReached:
        counts = current_assignment(problem).counts()
        return _result(counts, strategy, StageStatus.TIMEOUT, started, "deadline while building")
    queue: list[tuple[int, int, int]] = []  # (-priority, sequence, class index)
    sequence = 0
    for cls in problem.classes:
        for _ in range(cls.pending_count):
            heapq.heappush(queue, (-cls.priority, sequence, cls.index))
            sequence += 1
    placed = preempted = 0
    stopped_early = False
    while queue:
        # Every pop: one costs vector operations over every node (a preemption search much
        # more), so the clock is cheap beside it; counting placements instead missed the
        # deadline while pod after pod found no room.
        if deadline is not None and time.monotonic() > deadline:
            stopped_early = True
            break
        _, _, index = heapq.heappop(queue)
        cls = problem.classes[index]
        demand = state.demand[index]
        mask = state.eligible_mask(cls)
        fits = state.inter_pod_fits(
            cls, np.flatnonzero(mask & np.all(state.free >= demand, axis=1))
        )
        if len(fits):
            scores = _scores(state, fits, demand, strategy)
            state.change(cls, int(fits[int(np.argmax(scores))]), +1)
            placed += 1
            continue
        if not preemption:
            continue
        chosen = _preempt(state, cls, demand, mask)
        if chosen is None:
            continue
        node, victims = chosen
        for victim, k in victims:
            state.change(victim, node, -k)
            for _ in range(k):
                heapq.heappush(queue, (-victim.priority, sequence, victim.index))
                sequence += 1
        state.change(cls, node, +1)
        preempted += 1
    logger.debug("greedy %s: %d placed, %d by preemption", strategy, placed, preempted)
    status = StageStatus.TIMEOUT if stopped_early else StageStatus.DONE
    return _result(state.counts, strategy, status, started, "")


def _result(
    counts: list[dict[int, int]], strategy: Strategy, status: StageStatus, started: float, why: str
) -> SolveResult:
    stage = StageReport(
        name=f"greedy-{strategy}", status=status, seconds=time.monotonic() - started, detail=why
    )
    return SolveResult(
        assignment=Assignment.from_counts(counts), optimal=False, solver="greedy", stages=(stage,)
    )
