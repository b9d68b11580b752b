"""The service's in-memory view of the cluster: fed by the watches, read by verbs and planner.

The store ties three things together under one lock:

- the watched objects, converted once on arrival (``cluster/objects.py``), from which the
  planner's snapshot is assembled (cached per generation);
- node accounting (``cluster/accounting.py``): allocatable and free room per node as numpy
  columns, charged and uncharged on every pod or node event;
- pods the bind verb bound that the watch has not shown bound yet ("assumed", as kube-scheduler
  calls them), counted on their node until the watch confirms them or ``assume_ttl`` passes:
  kube-scheduler binds in a goroutine of its own, so the next pod's filter can arrive before the
  watch has shown the last one bound, and the same room must not be offered twice;
- the room running plans hold (``cluster/reservations.py``), consumed here the moment a pod they
  name is counted on their node. ``holds_reservations`` is read without the lock so that the
  filter verb pays nothing while no plan runs.

Freshness: with a ``staleness``, the store remembers when each kind's informer last heard from the
API server; ``fresh`` says whether all did within it. A stalled API server or a silently dead watch
makes the state stale, and a stale state is answered from (the verbs are ignorable) but never
acted on (readiness, the planning loop).

It also keeps, on every pod event, the pending pods by priority and the ones kube-scheduler marked
Unschedulable (the planning loop's trigger, read after every change: counts, not a scan), and a
*generation* that moves only when something the planner reads changes (not on node heartbeats or
status noise), with a condition variable to wait on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scheduler_ext.cluster.accounting import Columns, NodeAccounting, Room
from scheduler_ext.cluster.kinds import KINDS, Kind, object_key
from scheduler_ext.cluster.objects import Change, PodEntry, WatchedObjects
from scheduler_ext.cluster.reservations import (
    NO_HOLDS,
    Holds,
    Reservation,
    Reservations,
    demand_items,
)
from scheduler_ext.domain import Cluster, Node, Pod

logger = logging.getLogger(__name__)

Raw = Mapping[str, Any]


@dataclass
class _Assumed:
    uid: str
    node: str
    demand: dict[str, int]
    expires: float


class ClusterStore:
    def __init__(
        self,
        *,
        assume_ttl: float = 30.0,
        staleness: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._assume_ttl = assume_ttl
        self._clock = clock
        self._objects = WatchedObjects()
        self._nodes = NodeAccounting()
        self._synced: set[Kind] = set()
        self._staleness = staleness
        self._contact: dict[Kind, float] = {}
        """Per kind, when its informer last heard from the API server (list, watch, bookmark)."""
        self._generation = 0
        self._snapshot: tuple[int, Cluster] | None = None
        self._assumed: dict[str, _Assumed] = {}
        self._pending: dict[str, PodEntry] = {}
        """Unbound, non-terminating pods (assumed ones too)."""
        self._pending_counts: Counter[int] = Counter()
        """Priority -> pods of ``_pending`` that are not assumed."""
        self._unschedulable: set[str] = set()
        """Keys of ``_pending`` that kube-scheduler marked Unschedulable."""
        self._reservations = Reservations()
        self.holds_reservations = False
        """Whether any room is held (read without the lock: a plain attribute, set under it)."""
        self.binding = threading.Lock()
        """Held by a binder while it checks the room and counts its bind in flight, and while it
        turns that into the assumption of its pod: two binds that both checked before either was
        counted would both take the last room (kube-scheduler binds in parallel, and its cache
        lags behind the plan executor's binds). Not held while the Binding is sent."""
        self.binds_in_flight: dict[object, tuple[str, str, Mapping[str, int]]] = {}
        """Token -> (pod key, node, demand) of binds checked and sent, not assumed yet; read and
        written under ``binding`` (``extender/binding.py``)."""

    # --- state -----------------------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        with self._lock:
            return self._synced.issuperset(KINDS)

    def note_contact(self, kind: str) -> None:
        """The API server just answered ``kind``'s informer (a list, a watch opening, an event)."""
        with self._lock:
            self._contact[Kind(kind)] = self._clock()

    def stale_kinds(self) -> list[Kind]:
        """Kinds not heard from within the staleness (none when it is not tracked)."""
        if self._staleness is None:
            return []
        with self._lock:
            now = self._clock()
            return [k for k in KINDS if now - self._contact.get(k, -1e18) > self._staleness]

    @property
    def fresh(self) -> bool:
        """Every watch heard from the API server within the staleness: safe to act on."""
        return not self.stale_kinds()

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

    # --- feeding (informers) ---------------------------------------------------------------------

    def replace(self, kind: str, items: Iterable[Raw]) -> None:
        """A full list of ``kind``: objects not in it are gone; marks the kind synced."""
        kind = Kind(kind)
        with self._lock:
            seen = set()
            for obj in items:
                key = object_key(kind, obj)
                if key is not None:
                    seen.add(key)
                    self._apply(kind, key, self._objects.upsert(kind, key, obj))
            for key in [k for k in self._objects.keys(kind) if k not in seen]:
                self._apply(kind, key, self._objects.delete(kind, key))
            if kind not in self._synced:
                self._synced.add(kind)
                self._bump()

    def apply(self, kind: str, event: str, obj: Raw) -> None:
        """One watch event: ADDED, MODIFIED or DELETED."""
        kind = Kind(kind)
        key = object_key(kind, obj)
        if key is None:
            return
        with self._lock:
            if event == "DELETED":
                change = self._objects.delete(kind, key)
            else:
                change = self._objects.upsert(kind, key, obj)
            self._apply(kind, key, change)

    def _apply(self, kind: Kind, key: str, change: Change | None) -> None:
        if change is None:
            return
        old, new = change
        if kind == Kind.POD:
            self._set_pod(key, old, new)
        elif kind == Kind.NODE:
            assert new is None or isinstance(new, Node)
            self._nodes.set_node(key, new.allocatable.as_dict() if new is not None else None)
        elif kind == Kind.PRIORITY_CLASS:
            for pod_key, (old_pod, new_pod) in self._objects.reconvert_classless().items():
                self._set_pod(pod_key, old_pod, new_pod)
        self._bump()

    def _set_pod(self, key: str, old: object | None, new: object | None) -> None:
        assert old is None or isinstance(old, PodEntry)
        assert new is None or isinstance(new, PodEntry)
        if old is not None:
            if old.pod.node_name is not None:
                self._nodes.charge(old.pod.node_name, old.demand, -1)
            if self._pending.pop(key, None) is not None:
                self._count_pending(key, old, -1)
                self._unschedulable.discard(key)
        if new is not None:
            if new.pod.node_name is not None:
                self._nodes.charge(new.pod.node_name, new.demand, +1)
                newly_bound = old is None or old.pod.node_name is None
                if self.holds_reservations and newly_bound and key not in self._assumed:
                    self._consume(key, new.pod, new.demand, new.pod.node_name)
            elif not new.pod.terminating:
                self._pending[key] = new
                self._count_pending(key, new, +1)
                if new.unschedulable:
                    self._unschedulable.add(key)
        assumed = self._assumed.get(key)
        if assumed is not None and (
            new is None or new.pod.node_name is not None or new.pod.uid != assumed.uid
        ):
            self._forget(key)

    def _count_pending(self, key: str, entry: PodEntry, sign: int) -> None:
        """Count (or uncount) a pending pod by priority, unless it is assumed (not pending)."""
        if key in self._assumed:
            return
        priority = entry.pod.priority
        self._pending_counts[priority] += sign
        if not self._pending_counts[priority]:
            del self._pending_counts[priority]

    # --- assumed bindings ------------------------------------------------------------------------

    def assume(self, pod: Pod, node: str) -> None:
        """Count ``pod`` on ``node`` until the watch shows it bound (or the TTL passes)."""
        with self._lock:
            entry = self._objects.value(Kind.POD, pod.key)
            assert entry is None or isinstance(entry, PodEntry)
            if entry is not None and entry.pod.node_name is not None:
                return  # the watch was faster
            if pod.key in self._assumed:
                self._forget(pod.key)
            pending = self._pending.get(pod.key)
            if pending is not None:  # no longer pending while assumed
                self._count_pending(pod.key, pending, -1)
            known = entry.pod if entry is not None else pod
            demand = entry.demand if entry is not None else pod.demand()
            expires = self._clock() + self._assume_ttl
            self._assumed[pod.key] = _Assumed(known.uid, node, demand, expires)
            self._nodes.charge(node, demand, +1)
            if self.holds_reservations:
                self._consume(pod.key, known, demand, node)
            self._bump()

    def _forget(self, key: str) -> None:
        assumed = self._assumed.pop(key)
        self._nodes.charge(assumed.node, assumed.demand, -1)
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

    def assumed(self) -> dict[str, str]:
        """Pod key -> node of the bindings not confirmed yet."""
        with self._lock:
            self._expire()
            return {key: a.node for key, a in self._assumed.items()}

    # --- reservations (plan execution) ----------------------------------------------------------

    def _consume(self, key: str, pod: Pod, demand: Mapping[str, int], node: str) -> None:
        owner = pod.owner.uid if pod.owner is not None else ""
        self._reservations.consume(key, pod.uid, owner, demand_items(demand), node)
        self.holds_reservations = bool(self._reservations)

    def reserve(
        self, reservations: Iterable[Reservation], taken: Mapping[str, str] | None = None
    ) -> None:
        """Hold room (``cluster/reservations.py``) until consumed or dropped; ``taken``: those
        already consumed (reservation id -> pod key)."""
        with self._lock:
            self._reservations.add(reservations, taken)
            self.holds_reservations = bool(self._reservations)
            self._bump()

    def release(self, plan: str) -> list[Reservation]:
        """Drop every reservation of ``plan``; the ones still held are returned."""
        with self._lock:
            dropped = self._reservations.drop(plan)
            self.holds_reservations = bool(self._reservations)
            self._bump()
            return dropped

    def reservations(self, plan: str | None = None) -> list[Reservation]:
        """The reservations still held (of ``plan``, or of every plan)."""
        with self._lock:
            return self._reservations.held(plan)

    def consumed(self, plan: str) -> dict[str, str]:
        """Reservation id -> key of the pod that took it, for ``plan``."""
        with self._lock:
            return self._reservations.consumed(plan)

    def holds_for(self, uid: str, owner_uid: str, demand: Mapping[str, int]) -> Holds:
        """What the held room means for a pod (``Reservations.holds_for``)."""
        if not self.holds_reservations:
            return NO_HOLDS
        with self._lock:
            return self._reservations.holds_for(uid, owner_uid, demand_items(demand))

    def pods(self) -> list[Pod]:
        """Every watched pod (bound, pending, terminating), as the store holds them."""
        with self._lock:
            return [e.pod for e in self._objects.values(Kind.POD) if isinstance(e, PodEntry)]

    # --- for the verbs ---------------------------------------------------------------------------

    def room(self, names: Iterable[str]) -> list[Room]:
        """Per node name: (allocatable, free room), or None for a node the store does not know."""
        with self._lock:
            self._expire()
            return self._nodes.room(names)

    def node_columns(self, resources: Iterable[str]) -> Columns:
        """``resources``' free room and allocatable of every node slot (copies)."""
        with self._lock:
            self._expire()
            return self._nodes.columns(resources)

    def short_resources(self, demand: Mapping[str, int]) -> list[str]:
        """The resources ``demand`` asks for that some known node has less free room of; empty
        means the pod fits every known node."""
        with self._lock:
            self._expire()
            return self._nodes.short_resources(demand)

    def pod(self, key: str) -> Pod | None:
        with self._lock:
            entry = self._objects.value(Kind.POD, key)
            return entry.pod if isinstance(entry, PodEntry) else None

    def demand(self, key: str, uid: str) -> dict[str, int] | None:
        """The watched pod's demand on a node, if the state knows the pod ``key`` with ``uid``."""
        with self._lock:
            entry = self._objects.value(Kind.POD, key)
            if isinstance(entry, PodEntry) and entry.pod.uid == uid:
                return entry.demand
            return None

    def wait_for_pod(self, key: str, timeout: float) -> Pod | None:
        """The pod ``key``, waiting up to ``timeout`` for the watch to show it (kube-scheduler
        learns of a pod from its own watch, which can be a moment ahead of ours)."""
        with self._changed:
            self._changed.wait_for(
                lambda: isinstance(self._objects.value(Kind.POD, key), PodEntry), timeout
            )
            entry = self._objects.value(Kind.POD, key)
            return entry.pod if isinstance(entry, PodEntry) else None

    def has_node(self, name: str) -> bool:
        with self._lock:
            return self._objects.value(Kind.NODE, name) is not None

    # --- for the planner -------------------------------------------------------------------------

    def unschedulable(self) -> list[str]:
        """Keys of unbound, non-terminating pods kube-scheduler marked Unschedulable."""
        with self._lock:
            return sorted(key for key in self._unschedulable if key not in self._assumed)

    def pending_by_priority(self) -> dict[int, int]:
        """Unbound, non-terminating, not assumed pods by priority."""
        with self._lock:
            return dict(self._pending_counts)

    def snapshot(self) -> Cluster:
        """The cluster as the planner reads it (assumed pods bound), cached per generation;
        SnapshotError when there is no node to plan on."""
        with self._lock:
            self._expire()
            if self._snapshot is None or self._snapshot[0] != self._generation:
                bound = {key: a.node for key, a in self._assumed.items()}
                self._snapshot = (self._generation, self._objects.cluster(bound))
            return self._snapshot[1]
