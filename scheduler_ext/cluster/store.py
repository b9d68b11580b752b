"""The service's in-memory view of the cluster: fed by the watches, read by verbs and planner.

kube-scheduler gives an extender 5 seconds per call and adds every millisecond of it to each pod's
scheduling cycle, so verbs must answer from memory. This store keeps:

- the raw objects of every watched kind, exactly as the API server sent them, so that a planning
  round's snapshot goes through the same converter as ``scheduler-ext plan`` (``snapshot()``,
  cached per generation);
- per node, its allocatable and the free room left by the pods bound to it, maintained
  incrementally on every pod or node event: a filter answer costs one dict lookup and a few
  comparisons per node;
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
        self._columns: dict[str, dict[str, int]] = {}
        """Resource -> {known node: its free room of that resource} (the same numbers as
        ``_free``, by resource): ``short_resources`` takes a C-level ``min`` of a column instead
        of a Python loop over nodes."""
        self._assumed: dict[str, _Assumed] = {}

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
                free[name] = free.get(name, 0) - sign * amount
                self._column(name)[node] = free[name]

    def _column(self, resource: str) -> dict[str, int]:
        column = self._columns.get(resource)
        if column is None:  # a resource no node had yet: every known node has its room (0)
            column = {node: free.get(resource, 0) for node, free in self._free.items()}
            self._columns[resource] = column
        return column

    def _set_alloc(self, node: str, alloc: Demand | None) -> None:
        if alloc is None:
            self._alloc.pop(node, None)
            self._free.pop(node, None)
            self._rooms.pop(node, None)
            for column in self._columns.values():
                column.pop(node, None)
            return
        self._alloc[node] = alloc
        used = self._used.get(node, Counter())
        names = set(alloc) | set(used)
        free = {name: alloc.get(name, 0) - used.get(name, 0) for name in names}
        self._free[node] = free
        self._rooms[node] = (alloc, free)
        for name in names | set(self._columns):
            self._column(name)[node] = free.get(name, 0)

    def _set_pod(self, key: str, entry: _PodEntry | None) -> None:
        old = self._pods.pop(key, None)
        if old is not None and old.pod.node_name is not None:
            self._charge(old.pod.node_name, old.demand, -1)
        if entry is not None:
            self._pods[key] = entry
            if entry.pod.node_name is not None:
                self._charge(entry.pod.node_name, entry.demand, +1)
        assumed = self._assumed.get(key)
        if assumed is not None and (
            entry is None or entry.pod.node_name is not None or entry.pod.uid != assumed.uid
        ):
            self._forget(key)

    def _forget(self, key: str) -> None:
        assumed = self._assumed.pop(key)
        self._charge(assumed.node, assumed.demand, -1)
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

    def short_resources(self, demand: Mapping[str, int]) -> list[str]:
        """The resources (of those ``demand`` asks a positive amount of) that some known node has
        less free room of than asked. Empty means the pod fits every known node (and unknown
        nodes pass anyway): one C-level ``min`` per resource, no per-node Python work, which is
        the usual filter.
        """
        with self._lock:
            if self._assumed:
                self._expire()
            short = []
            for resource, amount in demand.items():
                if amount <= 0:
                    continue
                column = self._columns.get(resource)
                if column is None:  # no node has it: every known node has 0 of it
                    if self._rooms:
                        short.append(resource)
                elif column and min(column.values()) < amount:
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
            return sorted(
                key
                for key, entry in self._pods.items()
                if entry.unschedulable
                and entry.pod.node_name is None
                and not entry.pod.terminating
                and key not in self._assumed
            )

    def pending_by_priority(self) -> dict[int, int]:
        with self._lock:
            return dict(
                Counter(
                    entry.pod.priority
                    for key, entry in self._pods.items()
                    if entry.pod.node_name is None
                    and not entry.pod.terminating
                    and key not in self._assumed
                )
            )

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
