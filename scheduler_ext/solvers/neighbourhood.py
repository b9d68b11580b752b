"""Large-neighbourhood search: CP-SAT on a few nodes at a time, for clusters too big for one model.

Whatever pending pod gets placed needs room on one node: the nodes where it is closest to fitting
once some pods leave (of any priority: moving them elsewhere is what defragments), and the nodes
with the largest holes to take those pods in, form a small sub-problem. Each round picks the most
important class with unplaced pods, takes a handful of such host and receiver nodes, and lets the
staged CP-SAT solver rearrange only their pods, the rest of the cluster fixed as in the incumbent.
An improvement is kept, a failure makes the next round draw other nodes; a share of the rounds
undoes moves that turned out unnecessary. Every round starts from and returns a whole-cluster
assignment, so the search can stop at any moment with a valid plan that is never worse than the
one it started from.
"""

from __future__ import annotations

import logging
import random
import time

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.assignment import Assignment, evaluate, node_load
from scheduler_ext.model.interpod_state import InterPodState
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.base import SolveResult, StageReport, StageStatus
from scheduler_ext.solvers.cpsat.solver import IncumbentCallback, solve_cpsat

logger = logging.getLogger(__name__)

SOLVER = "neighbourhood"
"""What a plan's ``status.solver`` says when its assignment came from this search."""
HOSTS = 2
"""Nodes per round where the target pod could land once other pods move out."""
RECEIVERS = 4
"""Nodes per round with free room for the pods that have to make way."""
ENTRANTS = 4
"""Classes with unplaced pods that may enter a neighbourhood per round, the target among them."""
ROUND_SECONDS = 0.1
"""CP-SAT time per round, counted once the neighbourhood's model is built."""
CALM_SHARE = 0.25
"""Share of rounds spent undoing needless moves while pods are still unplaced."""
MAX_FAILURES = 5
"""Failed rounds after which a class is given up while others wait (four times that alone)."""
CALM_ATTEMPTS = 20
"""Rounds in a row that may fail to reduce disruption before the search stops."""


def _free_room(problem: Problem, counts: list[dict[int, int]]) -> npt.NDArray[np.int64]:
    return problem.capacity_matrix - node_load(problem, counts)


def _landing_mask(
    problem: Problem, classes: list[int], state: InterPodState | None
) -> npt.NDArray[np.bool_]:
    """Per class in ``classes``, the nodes where one more of its pods may land: its eligible
    nodes (taints, node affinity and selector) and, with ``state``, the inter-pod rules."""
    mask = np.zeros((len(classes), len(problem.nodes)), dtype=bool)
    for row, c in enumerate(classes):
        cls = problem.classes[c]
        eligible = np.array(cls.eligible, dtype=np.intp)
        if len(eligible) == 0:
            continue
        if state is not None:
            eligible = eligible[state.model_mask(cls, eligible)]
        mask[row, eligible] = True
    return mask


def pick_scope(
    problem: Problem,
    counts: list[dict[int, int]],
    target: int,
    rng: random.Random,
    free: npt.NDArray[np.int64],
    state: InterPodState | None = None,
) -> list[int]:
    """Host nodes for one pod of class ``target`` plus receiver nodes with free room for the
    pods in play (the target and the pods on the hosts): a receiver none of them may land on
    (a taint, a node selector, an inter-pod rule with ``state``) could only waste the round."""
    cls = problem.classes[target]
    demand = np.array(cls.demand, dtype=np.int64)
    eligible = np.array(cls.eligible, dtype=np.intp)
    whole = problem.capacity_matrix
    if len(eligible):
        # Only nodes that could hold the pod if emptied of everything movable are hosts.
        eligible = eligible[np.all(whole[eligible] >= demand, axis=1)]
    if len(eligible) and state is not None:
        # Nor those where an inter-pod rule keeps it off as the cluster stands (unless all do).
        allowed = eligible[state.model_mask(cls, eligible)]
        eligible = allowed if len(allowed) else eligible
    if len(eligible) == 0:
        return []
    capacity = np.where(whole > 0, whole, 1).astype(np.float64)
    # Hosts: where the pod is closest to fitting; moving any pods out, of lower priority or not,
    # to the receivers may close the gap.
    possible = eligible
    deficit = (np.maximum(0, demand - free[possible]) / capacity[possible]).sum(axis=1)
    order = possible[np.argsort(deficit + np.array([rng.random() * 0.05 for _ in possible]))]
    hosts = [int(n) for n in order[: HOSTS * 3]]
    rng.shuffle(hosts[1:])  # keep the most promising host, vary the others
    chosen = hosts[:HOSTS]
    # Receivers: the largest holes, in the resources the target needs (where the pods that make
    # way for it are likely to fit), on nodes where the target or a pod on a host may land.
    movers = sorted({c for c, placed in enumerate(counts) for h in chosen if placed.get(h, 0)})
    in_play = [target, *(c for c in movers if c != target)]
    landing = _landing_mask(problem, in_play, state).any(axis=0)
    wanted = demand > 0
    roominess = (np.minimum(free[:, wanted].clip(min=0), demand[wanted]) / demand[wanted]).sum(
        axis=1
    )
    roominess[~landing] = -1.0
    roominess[chosen] = -1.0
    pool = [int(n) for n in np.argsort(-roominess)[: RECEIVERS * 3] if roominess[n] > 0]
    rng.shuffle(pool)
    return sorted(set(chosen) | set(pool[:RECEIVERS]))


def calming_scope(problem: Problem, counts: list[dict[int, int]], rng: random.Random) -> list[int]:
    """A node that lost running pods, and the nodes their classes gained pods on.

    Solving such a scope with the placement fixed undoes moves that were not needed (greedy's
    preemptions and earlier rounds move more than they must).
    """
    losses = [
        (cls.index, node)
        for cls in problem.classes
        for node, running in cls.running
        if counts[cls.index].get(node, 0) < running
    ]
    if not losses:
        return []
    cls_index, node = rng.choice(losses)
    cls = problem.classes[cls_index]
    running = cls.running_on()
    gains = [n for n, k in counts[cls_index].items() if k > running.get(n, 0)]
    rng.shuffle(gains)
    scope = {node, *gains[: HOSTS + RECEIVERS - 1]}
    others = [n for _, n in losses if n not in scope]
    rng.shuffle(others)
    scope.update(others[: max(0, HOSTS + RECEIVERS - len(scope))])
    return sorted(scope)


def solve_neighbourhoods(
    problem: Problem,
    incumbent: Assignment,
    *,
    deadline: float,
    workers: int = 0,
    on_incumbent: IncumbentCallback | None = None,
    seed: int = 0,
) -> SolveResult:
    """Place unplaced pods neighbourhood by neighbourhood, then undo needless moves."""
    started = time.monotonic()
    rng = random.Random(seed)
    best, best_key = incumbent, evaluate(problem, incumbent).key
    rounds = improvements = calm_failures = 0
    failures: dict[int, int] = {}
    round_cost = 0.02  # a round lasts its model building plus its search: keep room for one
    state: InterPodState | None = None
    state_of: Assignment | None = None
    while time.monotonic() + round_cost < deadline:
        round_started = time.monotonic()
        counts = best.counts()
        if problem.has_interpod and state_of is not best:
            state, state_of = InterPodState(problem, counts), best
        short = [
            cls.index
            for cls in sorted(problem.classes, key=lambda c: -c.priority)
            if sum(counts[cls.index].values()) < cls.count
        ]
        # A class is given up after a few failed rounds while others wait; alone, it keeps
        # drawing new neighbourhoods for longer.
        limit = MAX_FAILURES if len(short) > 1 else 4 * MAX_FAILURES
        unplaced = [c for c in short if failures.get(c, 0) < limit]
        target: int | None = None
        entrants: list[int] = []
        calm = not unplaced or rng.random() < CALM_SHARE
        if not calm:
            # Mostly the most important class; sometimes another, so one cannot starve all.
            target = unplaced[0] if rng.random() < 0.7 else rng.choice(unplaced)
            scope = pick_scope(problem, counts, target, rng, _free_room(problem, counts), state)
            if not scope:
                failures[target] = 99
                continue
            others = [c for c in unplaced if c != target]
            entrants = [target, *rng.sample(others, min(len(others), ENTRANTS - 1))]
        else:
            scope = calming_scope(problem, counts, rng)
            if not unplaced and (not scope or calm_failures >= CALM_ATTEMPTS):
                break
            if not scope:
                continue
        rounds += 1
        result = solve_cpsat(
            problem,
            best,
            deadline=deadline,
            search_seconds=ROUND_SECONDS,
            workers=workers,
            scope=scope,
            entrants=entrants,
        )
        key = evaluate(problem, result.assignment).key
        if key > best_key:
            best, best_key = result.assignment, key
            improvements += 1
            if target is not None:
                failures.pop(target, None)
            calm_failures = 0
            if on_incumbent is not None:
                on_incumbent(SolveResult(assignment=best, optimal=False, solver=SOLVER))
        elif target is not None:
            failures[target] = failures.get(target, 0) + 1
        else:
            calm_failures += 1
        round_cost = time.monotonic() - round_started
    seconds = time.monotonic() - started
    logger.debug("neighbourhood search: %d rounds, %d improvements", rounds, improvements)
    return SolveResult(
        assignment=best,
        optimal=False,
        solver=SOLVER,
        stages=(
            StageReport(
                name="neighbourhoods",
                status=StageStatus.DONE,
                seconds=seconds,
                detail=f"{rounds} rounds, {improvements} improvements",
                limit=deadline - started,
                improved=improvements > 0,
            ),
        ),
    )
