"""Node accounting: each node's allocatable and the free room its pods leave, as numpy columns.

kube-scheduler gives an extender 5 seconds per call and adds every millisecond of it to each pod's
scheduling cycle, so filter and prioritize must answer from numbers kept ready. They are kept here
in one form only: per resource, a column of allocatable and a column of free room, indexed by
node *slot*. The verbs compute over every node at once (one ``min`` per resource tells whether any
node lacks room; prioritize scores all nodes with array operations), and the per-node view the
exact loops read (``room``) is derived from the same columns, never stored beside them.

- A node gets a slot when its Node appears or when a pod is charged to it first (the watch can
  show a pod before its node); ``known`` is True only while the Node exists. A slot with neither
  is recycled. Slot 0 is never used: unknown names map to it.
- Numbers are exact: int64 holds any quantity a real cluster has; a column that meets a number
  beyond int64 turns into a column of Python ints. ``float_exact`` is False for a column once it
  held a number of 2**53 or more, beyond which float64 division (prioritize's) is not exact.

Not thread-safe on its own: ``ClusterStore`` holds its lock around every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Column = npt.NDArray[np.int64] | npt.NDArray[np.object_]
Room = tuple[Mapping[str, int], Mapping[str, int]] | None
"""A node's (allocatable, free room), or None when the node is not known."""

EXACT_LIMIT = 2**53
"""Quantities below this (in absolute value) convert to float64 exactly."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INITIAL_SLOTS = 64


@dataclass(frozen=True)
class Columns:
    """Per node slot, copied from the accounting: whether a Node holds the slot, and its free room
    and allocatable per resource (a resource absent from ``free`` or ``alloc`` is 0 on every
    node); with the node name of each slot ("" for unused slots) and the slot of each node name
    (unknown names go to slot 0, which no node holds). Names and slots are the layout at the time
    of the copy, never changed once handed out."""

    known: npt.NDArray[np.bool_]
    free: dict[str, Column]
    alloc: dict[str, Column]
    names: tuple[str, ...]
    slots: Mapping[str, int]
    float_exact: bool = True
    """Every number in these columns converts to float64 exactly (else float arithmetic over
    them, prioritize's, must not be trusted: use the exact per-node loop)."""


class NodeAccounting:
    def __init__(self) -> None:
        self._slots: dict[str, int] = {}
        self._names: list[str] = [""]
        self._charged: list[int] = [0]
        """Per slot, pods (and assumed pods) counted on it: a slot is kept while any is."""
        self._spare: list[int] = []
        self._size = 1
        self._known = np.zeros(_INITIAL_SLOTS, dtype=np.bool_)
        self._alloc: dict[str, Column] = {}
        self._free: dict[str, Column] = {}
        self._float_exact: dict[str, bool] = {}
        self._layout: tuple[tuple[str, ...], dict[str, int]] | None = None

    # --- changes ---------------------------------------------------------------------------------

    def set_node(self, name: str, allocatable: Mapping[str, int] | None) -> None:
        """The Node appeared or changed (its allocatable), or is gone (None)."""
        slot = self._slots.get(name)
        if allocatable is None:
            if slot is None or not self._known[slot]:
                return
            allocatable = {}
            self._known[slot] = False
        else:
            slot = self._slot(name) if slot is None else slot
            self._known[slot] = True
        for resource in set(allocatable) | set(self._alloc):
            old = self._get(self._alloc, resource, slot)
            new = allocatable.get(resource, 0)
            if new != old:
                self._set(self._alloc, resource, slot, new)
                self._set(
                    self._free, resource, slot, self._get(self._free, resource, slot) + new - old
                )
        self._release(slot)

    def charge(self, node: str, demand: Mapping[str, int], sign: int) -> None:
        """Count (+1) or uncount (-1) a pod's demand on ``node``."""
        slot = self._slots.get(node)
        if slot is None:
            slot = self._slot(node)
        for resource, amount in demand.items():
            free = self._get(self._free, resource, slot)
            self._set(self._free, resource, slot, free - sign * amount)
        self._charged[slot] += sign
        self._release(slot)

    # --- reads -----------------------------------------------------------------------------------

    def columns(self, resources: Iterable[str]) -> Columns:
        """``resources``' columns of every slot (copies)."""
        size = self._size
        free: dict[str, Column] = {}
        alloc: dict[str, Column] = {}
        float_exact = True
        for resource in resources:
            float_exact &= self._float_exact.get(resource, True)
            column = self._free.get(resource)
            if column is not None:
                free[resource] = column[:size].copy()
            column = self._alloc.get(resource)
            if column is not None:
                alloc[resource] = column[:size].copy()
        names, slots = self._current_layout()
        return Columns(self._known[:size].copy(), free, alloc, names, slots, float_exact)

    def short_resources(self, demand: Mapping[str, int]) -> list[str]:
        """The resources (of those ``demand`` asks a positive amount of) that some known node has
        less free room of than asked. Empty means the pod fits every known node: one ``min`` per
        resource, no per-node Python work."""
        size = self._size
        known = self._known[:size]
        if not known.any():
            return []
        short = []
        for resource, amount in demand.items():
            if amount <= 0:
                continue
            column = self._free.get(resource)
            if column is None or column[:size][known].min() < amount:
                short.append(resource)
        return short

    def room(self, names: Iterable[str]) -> list[Room]:
        """Per node name: (allocatable, free room) as dicts, or None for a node not known."""
        rooms: list[Room] = []
        for name in names:
            slot = self._slots.get(name)
            if slot is None or not self._known[slot]:
                rooms.append(None)
                continue
            alloc = {r: int(c[slot]) for r, c in self._alloc.items() if c[slot]}
            free = {r: int(c[slot]) for r, c in self._free.items()}
            rooms.append((alloc, free))
        return rooms

    # --- slots and columns -----------------------------------------------------------------------

    def _current_layout(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """Copies of names and slots, made again only after a slot came or went (rare)."""
        if self._layout is None:
            self._layout = (tuple(self._names), dict(self._slots))
        return self._layout

    def _slot(self, name: str) -> int:
        if self._spare:
            slot = self._spare.pop()
        else:
            slot = self._size
            self._size += 1
            self._names.append("")
            self._charged.append(0)
            if slot >= len(self._known):
                self._grow()
        self._slots[name] = slot
        self._names[slot] = name
        self._layout = None
        return slot

    def _release(self, slot: int) -> None:
        """Recycle a slot that neither a Node nor a pod holds any more."""
        if self._known[slot] or self._charged[slot]:
            return
        del self._slots[self._names[slot]]
        self._names[slot] = ""
        self._layout = None
        for columns in (self._alloc, self._free):
            for column in columns.values():
                column[slot] = 0
        self._spare.append(slot)

    def _grow(self) -> None:
        grow = len(self._known)
        self._known = np.concatenate([self._known, np.zeros(grow, dtype=np.bool_)])
        for columns in (self._alloc, self._free):
            for resource, column in columns.items():
                columns[resource] = np.concatenate([column, np.zeros(grow, dtype=column.dtype)])

    @staticmethod
    def _get(columns: dict[str, Column], resource: str, slot: int) -> int:
        column = columns.get(resource)
        return 0 if column is None else int(column[slot])

    def _set(self, columns: dict[str, Column], resource: str, slot: int, value: int) -> None:
        column = columns.get(resource)
        if column is None:
            # A resource no node had yet: zeros, every other node's amount of it.
            column = columns[resource] = np.zeros(len(self._known), dtype=np.int64)
        if not _INT64_MIN <= value <= _INT64_MAX and column.dtype != np.object_:
            column = columns[resource] = column.astype(np.object_)
        if not -EXACT_LIMIT < value < EXACT_LIMIT:
            self._float_exact[resource] = False
        column[slot] = value
