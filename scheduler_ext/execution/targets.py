"""What a plan asks to be done, resolved to the pods it was made for (by UID) and the room to hold.

A PackingPlan names pods by ``namespace/name``; a name can be reused by a new pod (a StatefulSet
recreates its pods under the same name), so each is resolved once, on the snapshot the plan was
made from, to its UID, node and demand. Everything later checks the live state against these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scheduler_ext.cluster.reservations import Demand, Reservation, demand_items
from scheduler_ext.domain import Cluster, Pod


@dataclass(frozen=True)
class Placement:
    """A planned Pending pod and the node the plan binds it to."""

    key: str
    uid: str
    node: str
    demand: Demand


@dataclass(frozen=True)
class Victim:
    """A running pod the plan evicts; ``to_node`` is where its replacement lands (a move), None
    for an eviction without a new home."""

    key: str
    uid: str
    node: str
    to_node: str | None
    owner_uid: str
    demand: Demand


@dataclass(frozen=True)
class Targets:
    plan: str
    placements: tuple[Placement, ...]
    victims: tuple[Victim, ...]

    @property
    def moves(self) -> tuple[Victim, ...]:
        return tuple(v for v in self.victims if v.to_node is not None)

    def nodes(self) -> set[str]:
        found = {p.node for p in self.placements} | {v.node for v in self.victims}
        return found | {v.to_node for v in self.moves if v.to_node is not None}

    def reservations(self) -> list[Reservation]:
        """Room for each planned pod on its node (by UID), and for each moved pod's replacement on
        its new node (by owner and shape)."""
        held = [
            Reservation(self.plan, p.node, p.demand, pod_uid=p.uid, label=p.key)
            for p in self.placements
        ]
        held += [
            Reservation(
                self.plan,
                v.to_node,
                v.demand,
                owner_uid=v.owner_uid,
                label=f"replacement of {v.key}",
            )
            for v in self.moves
            if v.to_node is not None
        ]
        return [
            Reservation(r.plan, r.node, r.demand, r.pod_uid, r.owner_uid, r.label, index=i)
            for i, r in enumerate(held)
        ]


class NotActionable(Exception):
    """The plan cannot be carried out as it stands (the message says why, in one line)."""


def _entries(spec: Mapping[str, Any], field: str) -> Iterable[Mapping[str, Any]]:
    items = spec.get(field) or []
    return [item for item in items if isinstance(item, Mapping)]


def targets_of(plan: Mapping[str, Any], cluster: Cluster) -> Targets:
    """The plan's bindings, moves and evictions resolved on ``cluster`` (the snapshot it was made
    from); NotActionable when it places nothing or names a pod the snapshot does not hold as the
    plan says."""
    name = str(plan["metadata"]["name"])
    spec = plan.get("spec") or {}
    pods: dict[str, Pod] = {pod.key: pod for pod in cluster.pods}

    def pod(key: str, bound: bool) -> Pod:
        found = pods.get(key)
        if found is None or found.bound != bound or not found.uid:
            state = "bound" if bound else "pending"
            raise NotActionable(f"{key} is not a {state} pod of the state the plan was made on")
        return found

    placements = tuple(
        Placement(b["pod"], pod(b["pod"], False).uid, b["node"], _demand(pod(b["pod"], False)))
        for b in _entries(spec, "bindings")
    )
    if not placements:
        raise NotActionable("the plan places no pending pod")
    victims = [
        _victim(pod(m["pod"], True), m["fromNode"], m["toNode"]) for m in _entries(spec, "moves")
    ]
    victims += [_victim(pod(e["pod"], True), e["node"], None) for e in _entries(spec, "evictions")]
    for victim in victims:
        if victim.to_node is not None and not victim.owner_uid:
            raise NotActionable(f"{victim.key} has no controller to recreate it")
    return Targets(name, placements, tuple(victims))


def _demand(pod: Pod) -> Demand:
    return demand_items(pod.demand())


def _victim(pod: Pod, node: str, to_node: str | None) -> Victim:
    if pod.node_name != node:
        raise NotActionable(f"{pod.key} is on {pod.node_name}, not {node} as the plan says")
    owner = pod.owner.uid if pod.owner is not None else ""
    return Victim(pod.key, pod.uid, node, to_node, owner, _demand(pod))
