"""The checks a running plan makes against the live, watched state: drift, room, each victim.

- ``drift``: the cluster moved away from the plan: a node of the plan is gone, a planned pod was
  deleted or placed elsewhere (by kube-scheduler, or by hand), a victim not yet evicted was
  deleted, recreated (new UID) or is elsewhere, a moved pod's replacement landed on another node.
  Any of them aborts the plan: carrying on would disrupt pods for a placement that no longer
  follows.
- ``room_short``: the held room fits on every node once the victims there are gone (a pod that
  took room before the reservations were in place is caught here, before anything is evicted).
- ``victim_refusal``: just before its eviction, a victim is still the pod the plan was made for
  (same UID, on its node, not terminating), every eviction rule (``model/movability.py``) still
  lets it go, and its PodDisruptionBudget still allows a disruption.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from scheduler_ext.cluster.reservations import Demand, demand_items
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.domain import Cluster
from scheduler_ext.execution.targets import Targets, Victim
from scheduler_ext.model import movability
from scheduler_ext.model.indexes import BudgetIndex


def _placement_drift(targets: Targets, store: ClusterStore) -> str | None:
    for placement in targets.placements:
        pod = store.pod(placement.key)
        if pod is None or pod.uid != placement.uid or pod.terminating:
            return f"planned pod {placement.key} was deleted"
        if pod.node_name is not None and pod.node_name != placement.node:
            return (
                f"planned pod {placement.key} was placed on {pod.node_name}, "
                f"not on {placement.node}"
            )
    return None


def _victim_drift(targets: Targets, store: ClusterStore, evicted: Collection[str]) -> str | None:
    for victim in targets.victims:
        if victim.key in evicted:
            continue
        pod = store.pod(victim.key)
        if pod is None:
            return f"{victim.key} was deleted before its eviction (by its owner?)"
        if pod.uid != victim.uid:
            return f"{victim.key} was recreated (a new pod of that name) before its eviction"
        if pod.node_name != victim.node:
            return f"{victim.key} is on {pod.node_name}, not on {victim.node}"
    return None


def _replacement_drift(
    targets: Targets, store: ClusterStore, known: Mapping[str, Collection[str]]
) -> str | None:
    """A new pod of a moved pod's owner and shape bound outside the nodes held for it."""
    moves = targets.moves
    if not moves:
        return None
    destinations: dict[tuple[str, Demand], set[str]] = {}
    for victim in moves:
        assert victim.to_node is not None
        destinations.setdefault((victim.owner_uid, victim.demand), set()).add(victim.to_node)
    for pod in store.pods():
        if pod.owner is None or pod.node_name is None or pod.terminating:
            continue
        owner = pod.owner.uid
        if pod.uid in known.get(owner, ()):
            continue
        held = destinations.get((owner, demand_items(pod.demand())))
        if held is not None and pod.node_name not in held:
            return (
                f"replacement {pod.key} landed on {pod.node_name}, "
                f"not on {' or '.join(sorted(held))}"
            )
    return None


def drift(
    targets: Targets,
    store: ClusterStore,
    *,
    evicted: Collection[str],
    known: Mapping[str, Collection[str]],
) -> str | None:
    """Why the live state no longer follows the plan; None while it does. ``evicted`` holds the
    victims already evicted; ``known`` the UIDs of each moved pod's owner's pods when the plan
    started (a pod not among them is a replacement)."""
    for node in sorted(targets.nodes()):
        if not store.has_node(node):
            return f"node {node} is gone"
    return (
        _placement_drift(targets, store)
        or _victim_drift(targets, store, evicted)
        or _replacement_drift(targets, store, known)
    )


def room_short(targets: Targets, store: ClusterStore, evicted: Collection[str] = ()) -> str | None:
    """Where the room held for the plan does not fit once its victims are gone; None if it does
    everywhere. Victims already gone from the state have freed their room; the others' demand is
    added back to their node's free room."""
    held: dict[str, dict[str, int]] = {}
    for reservation in store.reservations(targets.plan):
        room = held.setdefault(reservation.node, {})
        for resource, amount in reservation.demand:
            room[resource] = room.get(resource, 0) + amount
    freed: dict[str, dict[str, int]] = {}
    for victim in targets.victims:
        pod = store.pod(victim.key)
        if pod is not None and pod.uid == victim.uid and pod.node_name == victim.node:
            room = freed.setdefault(victim.node, {})
            for resource, amount in victim.demand:
                room[resource] = room.get(resource, 0) + amount
    names = sorted(held)
    for name, known in zip(names, store.room(names), strict=True):
        if known is None:
            return f"node {name} is gone"
        free = known[1]
        for resource, amount in held[name].items():
            left = free.get(resource, 0) + freed.get(name, {}).get(resource, 0) - amount
            if left < 0:
                return f"the room held on {name} does not fit: {resource} short by {-left}"
    return None


def victim_refusal(
    victim: Victim, cluster: Cluster, policy: movability.EvictionPolicy
) -> str | None:
    """Why ``victim`` must not be evicted now; None if it may."""
    pod = next((p for p in cluster.pods if p.key == victim.key), None)
    if pod is None or pod.uid != victim.uid:
        return f"{victim.key} is no longer the pod the plan was made for"
    if pod.node_name != victim.node:
        return f"{victim.key} is on {pod.node_name}, not on {victim.node}"
    index = BudgetIndex(cluster.budgets)
    reason = movability.immovable_reason(pod, policy, index.names(pod))
    if reason is not None:
        return f"{victim.key} may not be evicted: {reason}"
    for b in index.covering(pod):
        budget = cluster.budgets[b]
        if movability.budget_allowance(budget) < 1:
            return (
                f"{victim.key}: PodDisruptionBudget {budget.namespace}/{budget.name} "
                "allows no disruption now"
            )
    return None
