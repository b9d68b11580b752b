"""The service's in-memory view of the cluster: fed by the watches, read by verbs and planner.

kube-scheduler gives an extender 5 seconds per call and adds every millisecond of it to each pod's
scheduling cycle, so verbs must answer from memory. This store keeps:

- the raw objects of every watched kind, exactly as the API server sent them, so that a planning
  round's snapshot goes through the same converter as ``scheduler-ext plan`` (``snapshot()``,
  cached per generation);
- per node, its allocatable and the free room left by the pods bound to it, maintained
  incrementally on every pod or node event: a filter answer costs one dict lookup and a few
  comparisons per node;
- the same free room, and allocatable, as numpy columns by node slot: prioritize scores every
  node with array operations (``node_columns``) and filter checks with one ``min`` per resource
  that every node has room (``short_resources``), with no per-node Python work;
- counts of the pending pods by priority and the Unschedulable ones, kept on every pod event (the
  planning loop reads them after every change);
- pods the bind verb bound that the watch has not shown bound yet ("assumed", as kube-scheduler
  calls them), counted on their node until the watch confirms them or ``assume_ttl`` passes;
- the pods kube-scheduler gave up on (``PodScheduled=False``, reason ``Unschedulable``): the
  planning loop's trigger;
- a *generation* that changes only when something the planner reads changes (not on node
  heartbeats or status noise), with a condition variable to wait on.

Everything is guarded by one lock. Objects the converter rejects are logged and left out, so one
odd object can never stop the snapshot from being built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scheduler_ext.cluster import convert
from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import PODS, Cluster, Node, Pod, PriorityClass
from scheduler_ext.errors import SnapshotError

logger = logging.getLogger(__name__)

NODE, POD, PDB, PRIORITY_CLASS, NAMESPACE = (
    "Node",
    "Pod",
    "PodDisruptionBudget",
    "PriorityClass",
    "Namespace",
)
KINDS = (PRIORITY_CLASS, NAMESPACE, NODE, PDB, POD)
_NAMESPACED = frozenset({POD, PDB})

Raw = Mapping[str, Any]
Demand = dict[str, int]
Vector = npt.NDArray[np.int64]

_NO_SHORTAGE = np.iinfo(np.int64).max

EXACT_LIMIT = 2**53
"""Quantities below this (in absolute value) convert to float64 exactly, so the vectorised
prioritize divides exactly as Python's int division does; beyond it the per-node loop runs."""


@dataclass(frozen=True)
class Columns:
    """Per node slot, copied from the store's arrays: whether a node holds the slot, and its free
    room and allocatable per resource (a resource absent from ``free`` or ``alloc`` is 0 on every
    node); with the node name of each slot ("" where ``known`` is False) and the slot of each node
    name (unknown names go to slot 0, which no node holds). Names and slots are the store's
    current layout, never changed once handed out."""

    known: npt.NDArray[np.bool_]
    free: dict[str, Vector]
    alloc: dict[str, Vector]
    names: tuple[str, ...]
    slots: Mapping[str, int]


class _Arrays:
    """The per-node numbers of the store as numpy columns by *slot* (one per known node; slot 0 is
    the never-known sentinel that unknown names map to), kept in step with ``_free``/``_alloc``:
    the verbs compute over every node at once instead of looping over names."""

    def __init__(self) -> None:
        self.slots: dict[str, int] = {}
        self.names: list[str] = [""]
        """Slot -> node name ("" for the sentinel and spare slots)."""
        self._layout: tuple[tuple[str, ...], dict[str, int]] | None = None
        self.spare: list[int] = []
        self.size = 1
        self.known = np.zeros(64, dtype=np.bool_)
        self.free: dict[str, Vector] = {}
        self.alloc: dict[str, Vector] = {}
        self.exact = True
        """False once a number beyond ``EXACT_LIMIT`` was seen (it is then stored as 0)."""

    def _capacity(self) -> int:
        return len(self.known)

    def layout(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """Copies of ``names`` and ``slots``, made again only after a node came or went (rare):
        a reader takes them under the lock for free and keeps a consistent pair."""
        if self._layout is None:
            self._layout = (tuple(self.names), dict(self.slots))
        return self._layout

    def slot(self, node: str) -> int:
        slot = self.slots.get(node)
        if slot is not None:
            return slot
        if self.spare:
            slot = self.spare.pop()
        else:
            slot = self.size
            self.size += 1
            self.names.append("")
            if slot >= self._capacity():
                grow = self._capacity()
                self.known = np.concatenate([self.known, np.zeros(grow, dtype=np.bool_)])
                for columns in (self.free, self.alloc):
                    for name, column in columns.items():
                        columns[name] = np.concatenate([column, np.zeros(grow, dtype=np.int64)])
        self.slots[node] = slot
        self.names[slot] = node
        self._layout = None
        self.known[slot] = True
        return slot

    def drop(self, node: str) -> None:
        slot = self.slots.pop(node, None)
        if slot is None:
            return
        self.known[slot] = False
        self.names[slot] = ""
        self._layout = None
        for columns in (self.free, self.alloc):
            for column in columns.values():
                column[slot] = 0
        self.spare.append(slot)

    def set(self, columns: dict[str, Vector], resource: str, slot: int, value: int) -> None:
        column = columns.get(resource)
        if column is None:
            column = columns[resource] = np.zeros(self._capacity(), dtype=np.int64)
        if -EXACT_LIMIT < value < EXACT_LIMIT:
            column[slot] = value
        else:
            self.exact = False
            column[slot] = 0


def object_key(kind: str, obj: Raw) -> str | None:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        return None
    if kind in _NAMESPACED:
        return f"{meta.get('namespace') or 'default'}/{meta['name']}"
    return str(meta["name"])


def demand_of(pod: Pod) -> Demand:
    """What a pod takes from its node: its effective requests plus one ``pods`` slot."""
    demand = pod.requests.as_dict()
    demand[PODS] = 1
    return demand


def is_unschedulable(obj: Raw) -> bool:
    """kube-scheduler gave up on it: ``PodScheduled=False`` with reason ``Unschedulable``."""
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    for condition in conditions if isinstance(conditions, list) else ():
        if isinstance(condition, Mapping) and condition.get("type") == "PodScheduled":
            return condition.get("status") == "False" and condition.get("reason") == "Unschedulable"
    return False


@dataclass(frozen=True)
class _PodEntry:
    pod: Pod
    demand: Demand
    unschedulable: bool


@dataclass
class _Assumed:
    uid: str
    node: str
    demand: Demand
    expires: float


class ClusterStore:
    def __init__(
        self, *, assume_ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._assume_ttl = assume_ttl
        self._clock = clock
        self._objects: dict[str, dict[str, Raw]] = {kind: {} for kind in KINDS}
        self._values: dict[str, dict[str, object]] = {kind: {} for kind in KINDS}
        self._synced: set[str] = set()
        self._generation = 0
        self._snapshot: tuple[int, Cluster] | None = None
        self._pods: dict[str, _PodEntry] = {}
        self._priorities: dict[str, PriorityClass] = {}
        self._alloc: dict[str, Demand] = {}
        self._used: dict[str, Counter[str]] = {}
        self._free: dict[str, Demand] = {}
        self._rooms: dict[str, tuple[Demand, Demand]] = {}
        self._arrays = _Arrays()
        self._assumed: dict[str, _Assumed] = {}
        self._pending: dict[str, _PodEntry] = {}
        """Unbound, non-terminating pods (assumed ones too), kept on every pod event so that the
        planning loop, which asks after every change, reads counts instead of scanning every
        stored pod under the lock."""
        self._pending_counts: Counter[int] = Counter()
        """Priority -> pods of ``_pending`` that are not assumed."""
        self._unschedulable: set[str] = set()
        """Keys of ``_pending`` that kube-scheduler marked Unschedulable."""

    # --- state ---------------------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        with self._lock:
            return self._synced.issuperset(KINDS)

    @property
    def generation(self) -> int:
        with self._lock:
            return self._generation

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until the generation differs from ``since`` (or ``timeout``); returns it."""
        with self._changed:
            self._changed.wait_for(lambda: self._generation != since, timeout)
            return self._generation

    def _bump(self) -> None:
        self._generation += 1
        self._changed.notify_all()

    # --- feeding (informers) -------------------------------------------------------------------

    def replace(self, kind: str, items: Iterable[Raw]) -> None:
        """A full list of ``kind``: objects not in it are gone; marks the kind synced."""
        with self._lock:
            seen = set()
            for obj in items:
                key = object_key(kind, obj)
                if key is not None:
                    seen.add(key)
                    self._upsert(kind, key, obj)
            for key in [k for k in self._objects[kind] if k not in seen]:
                self._delete(kind, key)
            if kind not in self._synced:
                self._synced.add(kind)
                self._bump()

    def apply(self, kind: str, event: str, obj: Raw) -> None:
        """One watch event: ADDED, MODIFIED or DELETED."""
        key = object_key(kind, obj)
        if key is None:
            return
        with self._lock:
            if event == "DELETED":
                self._delete(kind, key)
            else:
                self._upsert(kind, key, obj)

    def _convert(self, kind: str, obj: Raw) -> object:
        if kind == POD:
            pod = convert.pod_from(obj, self._priorities)
            if pod is None:  # finished: holds nothing
                return None
            return _PodEntry(pod, demand_of(pod), is_unschedulable(obj))
        if kind == NODE:
            return convert.node_from(obj)
        if kind == PDB:
            return convert.budget_from(obj)
        if kind == PRIORITY_CLASS:
            return convert.priority_class_from(obj)
        return convert.namespace_from(obj)

    def _upsert(self, kind: str, key: str, obj: Raw) -> None:
        try:
            value = self._convert(kind, obj)
        except SnapshotError as exc:
            logger.warning("ignoring %s: %s", kind, exc)
            self._delete(kind, key)
            return
        if value is None:
            self._delete(kind, key)
            return
        self._objects[kind][key] = obj
        previous = self._values[kind].get(key)
        if previous == value:
            return
        self._values[kind][key] = value
        if kind == POD:
            assert isinstance(value, _PodEntry)
            self._set_pod(key, value)
        elif kind == NODE:
            assert isinstance(value, Node)
            self._set_alloc(key, value.allocatable.as_dict())
        elif kind == PRIORITY_CLASS:
            assert isinstance(value, PriorityClass)
            self._priorities[key] = value
        self._bump()

    def _delete(self, kind: str, key: str) -> None:
        self._objects[kind].pop(key, None)
        if self._values[kind].pop(key, None) is None:
            return
        if kind == POD:
            self._set_pod(key, None)
        elif kind == NODE:
            self._set_alloc(key, None)
        elif kind == PRIORITY_CLASS:
            self._priorities.pop(key, None)
        self._bump()

    # --- per-node accounting -------------------------------------------------------------------

    def _charge(self, node: str, demand: Mapping[str, int], sign: int) -> None:
        used = self._used.setdefault(node, Counter())
        free = self._free.get(node)
        for name, amount in demand.items():
            used[name] += sign * amount
            if free is not None:
                # A resource no node had yet gets a column of zeros: every other node's room.
                free[name] = free.get(name, 0) - sign * amount
                arrays = self._arrays
                arrays.set(arrays.free, name, arrays.slots[node], free[name])

    def _set_alloc(self, node: str, alloc: Demand | None) -> None:
        if alloc is None:
            self._alloc.pop(node, None)
            self._free.pop(node, None)
            self._rooms.pop(node, None)
            self._arrays.drop(node)
            return
        self._alloc[node] = alloc
        used = self._used.get(node, Counter())
        names = set(alloc) | set(used)
        free = {name: alloc.get(name, 0) - used.get(name, 0) for name in names}
        self._free[node] = free
        self._rooms[node] = (alloc, free)
        arrays = self._arrays
        slot = arrays.slot(node)
        for name in set(alloc) | set(arrays.alloc):
            arrays.set(arrays.alloc, name, slot, alloc.get(name, 0))
        for name in names | set(arrays.free):
            arrays.set(arrays.free, name, slot, free.get(name, 0))

    def _set_pod(self, key: str, entry: _PodEntry | None) -> None:
        old = self._pods.pop(key, None)
        if old is not None:
            if old.pod.node_name is not None:
                self._charge(old.pod.node_name, old.demand, -1)
            if self._pending.pop(key, None) is not None:
                self._count_pending(key, old, -1)
                self._unschedulable.discard(key)
        if entry is not None:
            self._pods[key] = entry
            if entry.pod.node_name is not None:
                self._charge(entry.pod.node_name, entry.demand, +1)
            elif not entry.pod.terminating:
                self._pending[key] = entry
                self._count_pending(key, entry, +1)
                if entry.unschedulable:
                    self._unschedulable.add(key)
        assumed = self._assumed.get(key)
        if assumed is not None and (
            entry is None or entry.pod.node_name is not None or entry.pod.uid != assumed.uid
        ):
            self._forget(key)

    def _count_pending(self, key: str, entry: _PodEntry, sign: int) -> None:
        """Count (or uncount) a pending pod by priority, unless it is assumed (not pending)."""
        if key in self._assumed:
            return
        priority = entry.pod.priority
        self._pending_counts[priority] += sign
        if not self._pending_counts[priority]:
            del self._pending_counts[priority]

    def _forget(self, key: str) -> None:
        assumed = self._assumed.pop(key)
        self._charge(assumed.node, assumed.demand, -1)
        pending = self._pending.get(key)
        if pending is not None:  # pending again
            self._count_pending(key, pending, +1)
        self._bump()

    def _expire(self) -> None:
        if self._assumed:
            now = self._clock()
            for key in [k for k, a in self._assumed.items() if a.expires <= now]:
                logger.info("assumed binding of %s expired unconfirmed", key)
                self._forget(key)

    def assume(self, pod: Pod, node: str) -> None:
        """Count ``pod`` on ``node`` until the watch shows it bound (or the TTL passes)."""
        with self._lock:
            entry = self._pods.get(pod.key)
            if entry is not None and entry.pod.node_name is not None:
                return  # the watch was faster
            if pod.key in self._assumed:
                self._forget(pod.key)
            pending = self._pending.get(pod.key)
            if pending is not None:  # no longer pending while assumed
                self._count_pending(pod.key, pending, -1)
            demand = entry.demand if entry is not None else demand_of(pod)
            uid = entry.pod.uid if entry is not None else pod.uid
            self._assumed[pod.key] = _Assumed(uid, node, demand, self._clock() + self._assume_ttl)
            self._charge(node, demand, +1)
            self._bump()

    def room(self, names: Iterable[str]) -> list[tuple[Demand, Demand] | None]:
        """Per node name: (allocatable, free room), or None for a node the store does not know.

        The dicts are the store's own, returned without copying to keep a 5,000-node filter fast:
        read single keys from them, never change or iterate them. An event applied meanwhile can
        change a value under the reader, which sees the newer room: harmless, since an answer is
        only ever as fresh as the watch anyway.
        """
        with self._lock:
            if self._assumed:
                self._expire()
            get = self._rooms.get
            return [get(name) for name in names]

    def node_columns(self, resources: Iterable[str]) -> Columns | None:
        """``resources``' free room and allocatable of *every* node slot (copies): a verb computes
        over all nodes at once, then looks up the names it was asked about. None when some stored
        number is too large to compute with exactly in float64 (use ``room`` then)."""
        with self._lock:
            if self._assumed:
                self._expire()
            arrays = self._arrays
            if not arrays.exact:
                return None
            size = arrays.size
            free = {}
            alloc = {}
            for resource in resources:
                column = arrays.free.get(resource)
                if column is not None:
                    free[resource] = column[:size].copy()
                column = arrays.alloc.get(resource)
                if column is not None:
                    alloc[resource] = column[:size].copy()
            names, slots = arrays.layout()
            return Columns(arrays.known[:size].copy(), free, alloc, names, slots)

    def short_resources(self, demand: Mapping[str, int]) -> list[str]:
        """The resources (of those ``demand`` asks a positive amount of) that some known node may
        have less free room of than asked. Empty means the pod fits every known node (and unknown
        nodes pass anyway): one numpy ``min`` per resource, no per-node Python work, which is the
        usual filter. A number too large to store exactly is stored as 0, so it can only report
        a resource short (the caller then runs the exact per-node check), never hide one.
        """
        with self._lock:
            if self._assumed:
                self._expire()
            arrays = self._arrays
            size = arrays.size
            known = arrays.known[:size]
            short = []
            for resource, amount in demand.items():
                if amount <= 0 or not arrays.slots:
                    continue
                column = arrays.free.get(resource)  # None: no node has any of it
                least = (
                    0 if column is None else column[:size].min(where=known, initial=_NO_SHORTAGE)
                )
                if least < amount:
                    short.append(resource)
            return short

    def pod(self, key: str) -> Pod | None:
        with self._lock:
            entry = self._pods.get(key)
            return entry.pod if entry is not None else None

    def assumed(self) -> dict[str, str]:
        """Pod key -> node of the bindings not confirmed yet."""
        with self._lock:
            self._expire()
            return {key: a.node for key, a in self._assumed.items()}

    # --- for the planner -----------------------------------------------------------------------

    def unschedulable(self) -> list[str]:
        """Keys of unbound, non-terminating pods kube-scheduler marked Unschedulable."""
        with self._lock:
            return sorted(key for key in self._unschedulable if key not in self._assumed)

    def pending_by_priority(self) -> dict[int, int]:
        """Unbound, non-terminating, not assumed pods by priority."""
        with self._lock:
            return dict(self._pending_counts)

    def snapshot(self) -> Cluster:
        """The cluster as the planner reads it (assumed pods bound), cached per generation."""
        with self._lock:
            self._expire()
            if self._snapshot is not None and self._snapshot[0] == self._generation:
                return self._snapshot[1]
            generation = self._generation
            lists: list[Raw] = [
                {"kind": f"{kind}List", "items": list(self._objects[kind].values())}
                for kind in KINDS
                if kind != POD
            ]
            pods = []
            for key, obj in self._objects[POD].items():
                assumed = self._assumed.get(key)
                if assumed is not None:
                    obj = {**obj, "spec": {**obj.get("spec", {}), "nodeName": assumed.node}}
                pods.append(obj)
            lists.append({"kind": "PodList", "items": pods})
        cluster = cluster_from_objects(lists, source="the watched cluster", strict_nodes=False)
        with self._lock:
            if self._generation == generation:
                self._snapshot = (generation, cluster)
        return cluster


class PodCache:
    """Pods from kube-scheduler's request bodies, converted once and remembered by UID.

    kube-scheduler sends the same pod to filter and then prioritize, and a bind carries only the
    pod's name and UID: the bind verb finds the pod's requests here when the watch has not shown
    the pod yet, so the assumed binding still counts on its node.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._by_uid: dict[str, tuple[str, Pod | None]] = {}

    def pod_of(self, obj: Raw) -> Pod | None:
        """The domain Pod (None if finished); SnapshotError names the bad field."""
        meta = obj.get("metadata")
        uid = meta.get("uid") if isinstance(meta, Mapping) else None
        version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        if isinstance(uid, str) and uid and isinstance(version, str):
            with self._lock:
                cached = self._by_uid.get(uid)
            if cached is not None and cached[0] == version:
                return cached[1]
        pod = convert.pod_from(obj)
        if pod is not None and pod.uid and isinstance(version, str):
            with self._lock:
                if len(self._by_uid) >= self._size:
                    self._by_uid.pop(next(iter(self._by_uid)))
                self._by_uid[pod.uid] = (version, pod)
        return pod

    def by_uid(self, uid: str) -> Pod | None:
        with self._lock:
            cached = self._by_uid.get(uid)
        return cached[1] if cached is not None else None
