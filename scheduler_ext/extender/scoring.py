"""What prioritize answers: a pure function of a pod's demand and the nodes' room.

The rule is *best fit on the roomiest resource*: among the resources the pod asks for (cpu,
memory, extended resources; not the ``pods`` slot), take the one with the largest fraction of the
node left free after placing the pod; the less that is, the higher the score. kube-scheduler's
default LeastAllocated scoring spreads pods, which leaves every node with a medium-sized hole that
no large pod fits; best fit fills nodes that are already busy and keeps large holes for the pods
that need them (online bin packing: Best Fit fragments less than Worst Fit). Judging a node by its
*roomiest* resource, not the average, means a node counts as full only when it is full in every
dimension, so the rule never prefers nodes where the pod would strand memory behind exhausted cpu.
At ``weight: 1`` this adds 0-100 to kube-scheduler's own 0-200 of NodeResourcesFit plus
BalancedAllocation: a tiebreaker strong enough to pack, not strong enough to override balance.
``benchmarks/fragmentation.py`` measured it on the paper's workloads, and the average-of-resources
variant and larger weights too (pure best fit at weight >= 2 leaves *more* pods Pending than
kube-scheduler alone); figures in docs/benchmarks.md.

``best_fit_score`` states the rule for one node; ``prioritize_nodes`` is the same rule inlined
over many (the exact reference, and the fallback for numbers beyond float64's exact range);
``scoring_hosts`` is what the verb runs: every node at once over the store's columns.

The other rule, ``policy`` (setting ``prioritize_rule``), scores the asked nodes with the learned
placement policy retrained for scoring (``solvers/policy/rule.py``); ``rule_hosts`` runs the one
configured. Measured against best fit on the same benchmark, it left 4% fewer pods Pending, at
about twice the cost per call; not the default until its latency is measured on a quiet machine
(docs/benchmarks.md, "Issue 16, session 7").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import compress, repeat
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from scheduler_ext.cluster.accounting import EXACT_LIMIT, Columns, Room
from scheduler_ext.domain import CPU, MEMORY, PODS

if TYPE_CHECKING:
    from scheduler_ext.solvers.policy.network import PolicyNet

MAX_SCORE = 10
"""``MaxExtenderPriority`` of extender/v1: kube-scheduler multiplies by weight x 10."""

Rule = Literal["best-fit", "policy"]
BEST_FIT: Rule = "best-fit"
POLICY: Rule = "policy"


def best_fit_score(demand: Mapping[str, int], room: Room) -> int:
    """0..10: 10 when the pod leaves the node full, 0 when the node stays (almost) empty or the
    pod does not fit; unknown nodes score 0 (no preference)."""
    if room is None:
        return 0
    alloc, free = room
    left = -1.0
    for name, amount in demand.items():
        if amount <= 0:  # asks for none of it (kube-scheduler skips it too)
            continue
        if amount > free.get(name, 0):
            return 0
        if name == PODS:
            continue
        capacity = alloc.get(name, 0)
        if capacity > 0:
            left = max(left, (free.get(name, 0) - amount) / capacity)
    if left < 0:  # asks for nothing but a pods slot: no preference
        return 0
    return max(0, min(MAX_SCORE, round(MAX_SCORE * (1.0 - left))))


def prioritize_nodes(
    demand: Mapping[str, int], names: Sequence[str], rooms: Sequence[Room]
) -> list[int]:
    """``best_fit_score`` for every node, in order (inlined). The verb uses ``prioritize_columns``
    and falls back to this loop only for quantities too large for exact float64; this is also
    the reference the vectorised scores are tested against."""
    sized = [(name, amount, name != PODS) for name, amount in demand.items() if amount > 0]
    if not any(counted for _, _, counted in sized):
        return [0] * len(names)
    scores: list[int] = []
    append = scores.append
    for room in rooms:
        if room is None:
            append(0)
            continue
        alloc, free = room
        left = -1.0
        for name, amount, counted in sized:
            available = free.get(name, 0)
            if amount > available:
                left = 2.0
                break
            if counted:
                capacity = alloc.get(name, 0)
                if capacity > 0:
                    fraction = (available - amount) / capacity
                    if fraction > left:
                        left = fraction
        if left > 1.0 or left < 0:
            append(0)
        else:
            append(round(MAX_SCORE * (1.0 - left)))
    return scores


def prioritize_columns(demand: Mapping[str, int], columns: Columns) -> npt.NDArray[np.int64] | None:
    """``prioritize_nodes`` vectorised over the store's columns (``ClusterStore.node_columns``):
    the same scores, computed with the same float64 operations and the same round-half-to-even,
    with no per-node Python work. None when the demand or the columns hold a number too large to
    compute with exactly in float64 (the per-node loop then runs)."""
    known = columns.known
    sized = [(name, amount) for name, amount in demand.items() if amount > 0]
    if not columns.float_exact or any(amount >= EXACT_LIMIT for _, amount in sized):
        return None
    none = np.zeros(len(known), dtype=np.int64)
    if not any(name != PODS for name, _ in sized):
        return none
    fits = known.copy()
    left = np.full(len(known), -1.0)
    for name, amount in sized:
        free = columns.free.get(name)
        if free is None:  # no node has any of it: the pod fits none
            return none
        fits &= free >= amount
        capacity = columns.alloc.get(name)
        if name == PODS or capacity is None:
            continue
        counted = capacity > 0
        fraction = np.divide(free - amount, capacity, out=np.full(len(known), -1.0), where=counted)
        np.maximum(left, fraction, out=left)
    scores = np.rint(MAX_SCORE * (1.0 - left))
    scores[~(fits & (left >= 0) & (left <= 1.0))] = 0
    return scores.astype(np.int64)


FEW_SCORING = 8
"""Below one node in this many of a request scoring, its names are matched against the scoring
nodes (a small dict); above, each name is looked up to its slot."""


def scoring_hosts(
    demand: Mapping[str, int], names: Sequence[str], columns: Columns
) -> tuple[list[str], list[int]] | None:
    """The nodes of ``names`` that score above 0, in the order asked, and their scores: what
    prioritize answers. Every node the store knows is scored at once (``columns``, by slot) and
    no Python loop runs over the names: on a roomy cluster, where a small pod scores 0 everywhere,
    the 5,000 names of a request are never looked at; when a few nodes score, names are matched
    against those few; else every name is mapped to its slot. None when the scores cannot be
    computed exactly in float64 (use ``prioritize_nodes``)."""
    scores = prioritize_columns(demand, columns)
    return None if scores is None else _hosts_of(scores, names, columns)


def _hosts_of(
    scores: npt.NDArray[np.int64], names: Sequence[str], columns: Columns
) -> tuple[list[str], list[int]]:
    """The names whose slot scores above 0, in order, and their scores (see ``scoring_hosts``)."""
    hot = np.flatnonzero(scores)
    if not hot.size:
        return [], []
    if hot.size * FEW_SCORING < len(names):
        wanted = {columns.names[slot]: int(scores[slot]) for slot in hot.tolist()}
        hosts = list(compress(names, map(wanted.__contains__, names)))
        return hosts, list(map(wanted.__getitem__, hosts))
    index = np.fromiter(map(columns.slots.get, names, repeat(0)), dtype=np.intp, count=len(names))
    asked = scores[index].tolist()
    return list(compress(names, asked)), list(filter(None, asked))


def rule_resources(rule: Rule, demand: Mapping[str, int]) -> list[str]:
    """The resources whose columns ``rule`` reads for ``demand``."""
    if rule == POLICY:
        return list(dict.fromkeys([*demand, CPU, MEMORY, PODS]))
    return list(demand)


def rule_hosts(
    rule: Rule, demand: Mapping[str, int], names: Sequence[str], columns: Columns
) -> tuple[list[str], list[int]] | None:
    """``rule``'s answer: the nodes of ``names`` that score above 0, in order, and their scores;
    None when it cannot be computed in float64 (use ``prioritize_nodes``, best fit, exactly)."""
    if rule == POLICY:
        return policy_hosts(demand, names, columns)
    return scoring_hosts(demand, names, columns)


def policy_hosts(
    demand: Mapping[str, int],
    names: Sequence[str],
    columns: Columns,
    net: PolicyNet | None = None,
) -> tuple[list[str], list[int]] | None:
    """The policy's scores of the asked nodes, those above 0, in order (``columns`` must hold
    ``rule_resources(POLICY, demand)``; ``net``: the shipped prioritize weights). As best fit's:
    every known node with room is scored at once, by slot, then the names are matched."""
    from scheduler_ext.solvers.policy import rule as policy_rule  # numpy network: on first use

    sized = [(name, amount) for name, amount in demand.items() if amount > 0]
    if not columns.float_exact or any(amount >= EXACT_LIMIT for _, amount in sized):
        return None
    fits = columns.known.copy()
    for name, amount in sized:
        free = columns.free.get(name)
        if free is None:  # no node has any of it: the pod fits none
            return [], []
        fits &= free >= amount
    chosen = np.flatnonzero(fits)
    scores = np.zeros(len(fits), dtype=np.int64)
    scores[chosen] = policy_rule.policy_priorities(
        demand,
        {name: column[chosen] for name, column in columns.free.items()},
        {name: column[chosen] for name, column in columns.alloc.items()},
        len(chosen),
        net=net,
    )
    return _hosts_of(scores, names, columns)
