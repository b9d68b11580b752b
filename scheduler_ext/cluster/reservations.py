"""Room a running plan holds on its target nodes, for the pods it frees it for and no other pod.

kube-scheduler keeps placing other pods while a plan evicts; the room an eviction frees would go to
whichever pod comes first. A reservation holds it, as Koordinator's ReservationFirst migration
does (``../shared/docs/execution-notes.md`` section 5): on a node, an amount of room for one pod,
named either by UID (a planned Pending pod) or, for the replacement of a moved ReplicaSet pod whose
name is not known yet, by its controller's UID and its exact demand ("owner and shape").

The filter verb reads them (``extender/filtering.py``): a pod that no reservation on a node names
sees that node's free room minus everything held there; a pod that some reservation names is
refused every node but the ones held for it. A reservation is *consumed* the moment a pod it names
is counted on its node (bound by the watch, or assumed by the bind verb): that pod's own charge
then occupies the room, so the hold is dropped. The executor (``scheduler_ext/execution/``) adds
a plan's reservations before anything is evicted and drops those left when the plan ends.

Not thread-safe on its own: ``ClusterStore`` holds its lock around every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Demand = tuple[tuple[str, int], ...]
"""A pod's demand on a node as sorted ``(resource, amount)`` pairs (hashable, comparable)."""


def demand_items(demand: Mapping[str, int]) -> Demand:
    return tuple(sorted((k, v) for k, v in demand.items() if v))


@dataclass(frozen=True)
class Reservation:
    """Room held on ``node`` by plan ``plan`` for one pod."""

    plan: str
    node: str
    demand: Demand
    pod_uid: str = ""
    """The planned Pending pod it is held for (empty for a replacement)."""
    owner_uid: str = ""
    """For a replacement: the controller (ReplicaSet) whose new pod of exactly ``demand`` it is
    held for."""
    label: str = ""
    """Who it is for, as operators read it: ``ns/pod`` or ``replacement of ns/pod``."""
    index: int = field(default=0, compare=False)

    @property
    def id(self) -> str:
        return f"{self.plan}#{self.index}"

    def entitles(self, uid: str, owner_uid: str, demand: Demand) -> bool:
        """Whether the pod (its UID, its controller's UID, its demand) may take this room."""
        if self.pod_uid:
            return uid == self.pod_uid
        return bool(owner_uid) and owner_uid == self.owner_uid and demand == self.demand


@dataclass(frozen=True)
class Holds:
    """What the reservations mean for one pod: per node, the room held there for others; and the
    nodes held for it (None when no reservation names it)."""

    against: Mapping[str, Mapping[str, int]]
    pinned: Mapping[str, str] | None
    """Node -> plan, for the nodes held for this pod."""


NO_HOLDS = Holds({}, None)


class Reservations:
    def __init__(self) -> None:
        self._held: dict[str, Reservation] = {}
        self._consumed: dict[str, str] = {}
        """Reservation id -> key of the pod that took it."""

    def __bool__(self) -> bool:
        return bool(self._held)

    def add(
        self, reservations: Iterable[Reservation], taken: Mapping[str, str] | None = None
    ) -> None:
        """Hold each reservation, except those ``taken`` names (reservation id -> pod key): a
        plan taken over from another process, whose pods took those already, keeps them as
        consumed."""
        taken = taken or {}
        for reservation in reservations:
            if reservation.id in taken:
                self._consumed[reservation.id] = taken[reservation.id]
            else:
                self._held[reservation.id] = reservation

    def drop(self, plan: str) -> list[Reservation]:
        """Every reservation of ``plan``, held or consumed, is forgotten; the held ones are
        returned."""
        dropped = [r for r in self._held.values() if r.plan == plan]
        for reservation in dropped:
            del self._held[reservation.id]
        prefix = f"{plan}#"
        for key in [k for k in self._consumed if k.startswith(prefix)]:
            del self._consumed[key]
        return dropped

    def held(self, plan: str | None = None) -> list[Reservation]:
        return [r for r in self._held.values() if plan is None or r.plan == plan]

    def consumed(self, plan: str) -> dict[str, str]:
        """Reservation id -> pod key, for the reservations of ``plan`` pods have taken."""
        prefix = f"{plan}#"
        return {k: v for k, v in self._consumed.items() if k.startswith(prefix)}

    def consume(self, key: str, uid: str, owner_uid: str, demand: Demand, node: str) -> None:
        """The pod ``key`` is now counted on ``node``: it takes the first reservation there that
        names it, if any (its UID first, then its owner and shape)."""
        candidates = [r for r in self._held.values() if r.node == node]
        for reservation in sorted(candidates, key=lambda r: (not r.pod_uid, r.index)):
            if reservation.entitles(uid, owner_uid, demand):
                del self._held[reservation.id]
                self._consumed[reservation.id] = key
                return

    def holds_for(self, uid: str, owner_uid: str, demand: Demand) -> Holds:
        against: dict[str, dict[str, int]] = {}
        pinned: dict[str, str] | None = None
        for reservation in self._held.values():
            if reservation.entitles(uid, owner_uid, demand):
                pinned = pinned if pinned is not None else {}
                pinned[reservation.node] = reservation.plan
                continue
            room = against.setdefault(reservation.node, {})
            for resource, amount in reservation.demand:
                room[resource] = room.get(resource, 0) + amount
        return Holds(against, pinned)
