"""What filter answers: which of the nodes asked about have room for the pod, and why not.

Filter rejects a node only when the pod does not fit in the room the service's own accounting
leaves on it (allocatable minus the requests of bound and assumed pods). Static rules (taints,
affinity, readiness) are kube-scheduler's own filters, which ran before the extender is called;
repeating them here would only add latency. Nodes the service does not know yet (a node created a
moment ago) pass: there is no accounting to reject them on, and kube-scheduler has already checked
that the pod fits its own cache.

While a plan runs (enforce mode), ``apply_holds`` also keeps the room the plan holds from every
pod it is not held for, and keeps the pods it is held for to their planned nodes
(``cluster/reservations.py``); with no plan running it is never called.

``misfit`` and ``filter_by_room`` state the rule node by node (the reference the tests hold the
verb to); ``filter_columns`` is what the verb runs when some node may lack room: every asked node
at once over the store's columns, with one reason string per combination of missing resources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import compress, repeat

import numpy as np

from scheduler_ext.cluster.accounting import Columns, Room
from scheduler_ext.cluster.reservations import Holds
from scheduler_ext.domain import PODS

REASON_PREFIX = "scheduler-ext: "

_MAX_MASK_BITS = 62
"""Resources one int64 mask can track; a pod asking for more goes to the per-node rule."""


def _reason(missing: Sequence[str]) -> str:
    return REASON_PREFIX + ", ".join(
        "Too many pods" if name == PODS else f"Insufficient {name}" for name in sorted(missing)
    )


def misfit(demand: Mapping[str, int], free: Mapping[str, int]) -> str | None:
    """Why the pod does not fit the free room, in kube-scheduler's words; None if it fits."""
    missing = [name for name, amount in demand.items() if 0 < amount > free.get(name, 0)]
    return _reason(missing) if missing else None


def filter_by_room(
    demand: Mapping[str, int], names: Sequence[str], rooms: Sequence[Room]
) -> tuple[list[str], dict[str, str]]:
    """(nodes that pass, {node: reason} for the others), names in the order given."""
    passed: list[str] = []
    failed: dict[str, str] = {}
    for name, room in zip(names, rooms, strict=True):
        reason = None if room is None else misfit(demand, room[1])
        if reason is None:
            passed.append(name)
        else:
            failed[name] = reason
    return passed, failed


def filter_columns(
    demand: Mapping[str, int], names: Sequence[str], columns: Columns
) -> tuple[list[str], dict[str, str]] | None:
    """``filter_by_room`` over the columns of every node (``ClusterStore.node_columns``); None
    when the pod asks for more resources than one mask holds (use ``filter_by_room``)."""
    asked = sorted((name, amount) for name, amount in demand.items() if amount > 0)
    if len(asked) > _MAX_MASK_BITS:
        return None
    index = np.fromiter(map(columns.slots.get, names, repeat(0)), dtype=np.intp, count=len(names))
    known = columns.known[index]
    masks = np.zeros(len(names), dtype=np.int64)
    for bit, (resource, amount) in enumerate(asked):
        free = columns.free.get(resource)
        lacks = known if free is None else known & np.asarray(free[index] < amount, dtype=bool)
        masks |= lacks.astype(np.int64) << bit
    failing = np.flatnonzero(masks)
    if not failing.size:
        return list(names), {}
    reasons: dict[int, str] = {}
    failed: dict[str, str] = {}
    for position, mask in zip(failing.tolist(), masks[failing].tolist(), strict=True):
        reason = reasons.get(mask)
        if reason is None:
            missing = [name for bit, (name, _) in enumerate(asked) if mask >> bit & 1]
            reason = reasons[mask] = _reason(missing)
        failed[names[position]] = reason
    return list(compress(names, masks == 0)), failed


def apply_holds(
    demand: Mapping[str, int],
    passed: Sequence[str],
    holds: Holds,
    rooms: Callable[[Sequence[str]], Sequence[Room]],
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The room running plans hold (``cluster/reservations.py``), applied to the nodes that
    passed: (still passing, {node: reason} failed, {node: reason} unresolvable).

    A pod some reservation names may go only to the nodes held for it: every other node is
    unresolvable for it (so kube-scheduler's preemption does not pick victims there either). Any
    other pod sees the free room of a node minus what is held there for others."""
    if holds.pinned is not None:
        pinned = holds.pinned
        kept = [name for name in passed if name in pinned]
        plans = ", ".join(sorted(set(pinned.values())))
        where = ", ".join(sorted(pinned))
        reason = f"{REASON_PREFIX}room is held for this pod on {where} (plan {plans})"
        unresolvable = dict.fromkeys((n for n in passed if n not in pinned), reason)
    else:
        kept, unresolvable = list(passed), {}
    held = [name for name in kept if name in holds.against]
    if not held:
        return kept, {}, unresolvable
    failed: dict[str, str] = {}
    for name, room in zip(held, rooms(held), strict=True):
        if room is None:
            continue
        against = holds.against[name]
        free = {r: amount - against.get(r, 0) for r, amount in room[1].items()}
        short = misfit(demand, free)
        if short is not None:
            failed[name] = short + " (room held by a running plan)"
    return [n for n in kept if n not in failed], failed, unresolvable
