"""Held room: a reservation names its pod by UID or, for a replacement, by owner and shape; a pod
counted on the node (watched bound, or assumed) takes the first that names it, once; dropping a
plan forgets all of its reservations."""

from __future__ import annotations

from typing import Any

from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.reservations import Reservation, demand_items
from scheduler_ext.cluster.store import ClusterStore
from testkit.builders import api_node, api_pod, owner_reference
from testkit.factories import pod as make_pod

CPU1 = demand_items({"cpu": 1000, "pods": 1})


def node(name: str) -> dict[str, Any]:
    return api_node(name, allocatable={"cpu": "4", "memory": "4Gi", "pods": "10"}, ready=None)


def pod(name: str, node_name: str | None = None, owner: str | None = None) -> dict[str, Any]:
    return api_pod(
        name,
        namespace="ns",
        uid=f"uid-{name}",
        node_name=node_name,
        requests={"cpu": "1"},
        owner=owner_reference("ReplicaSet", "rs", uid=owner) if owner else None,
    )


def store() -> ClusterStore:
    s = ClusterStore()
    for kind in KINDS:
        s.replace(kind, [])
    s.replace("Node", [node("a"), node("b")])
    return s


def test_a_pod_named_by_uid_takes_its_reservation_when_bound_there() -> None:
    s = store()
    s.apply("Pod", "ADDED", pod("p"))
    s.reserve([Reservation("plan-1", "a", CPU1, pod_uid="uid-p", index=0)])
    assert s.holds_reservations
    s.apply("Pod", "MODIFIED", pod("p", "b"))  # elsewhere: nothing taken
    assert len(s.reservations("plan-1")) == 1
    s.apply("Pod", "DELETED", pod("p", "b"))
    s.apply("Pod", "ADDED", pod("p", "a"))
    assert s.reservations() == []
    assert s.consumed("plan-1") == {"plan-1#0": "ns/p"}
    assert not s.holds_reservations


def test_replacements_take_owner_and_shape_reservations_one_each() -> None:
    s = store()
    held = [
        Reservation("plan-1", "b", CPU1, owner_uid="rs-uid", index=0),
        Reservation("plan-1", "b", CPU1, owner_uid="rs-uid", index=1),
    ]
    s.reserve(held)
    s.apply("Pod", "ADDED", pod("other", "b", owner="other-rs"))  # another owner: none taken
    assert len(s.reservations()) == 2
    s.apply("Pod", "ADDED", pod("r1", owner="rs-uid"))
    s.assume(make_pod("r1", namespace="ns"), "b")  # assumed: takes one
    assert len(s.reservations()) == 1
    s.apply("Pod", "MODIFIED", pod("r1", "b", owner="rs-uid"))  # confirmed: not a second one
    assert len(s.reservations()) == 1
    s.apply("Pod", "ADDED", pod("r2", "b", owner="rs-uid"))
    assert s.reservations() == []


def test_holds_for_a_pod_count_the_room_held_for_others_and_pin_its_own() -> None:
    s = store()
    s.reserve(
        [
            Reservation("plan-1", "a", CPU1, pod_uid="uid-p", index=0),
            Reservation("plan-1", "b", CPU1, owner_uid="rs-uid", index=1),
        ]
    )
    p = s.holds_for("uid-p", "", {"cpu": 1000, "pods": 1})
    assert p.pinned == {"a": "plan-1"}
    assert p.against == {"b": {"cpu": 1000, "pods": 1}}
    other = s.holds_for("uid-x", "rs-uid", {"cpu": 500, "pods": 1})  # same owner, other shape
    assert other.pinned is None
    assert set(other.against) == {"a", "b"}


def test_release_forgets_a_plan_and_no_holds_cost_nothing() -> None:
    s = store()
    s.reserve([Reservation("plan-1", "a", CPU1, pod_uid="uid-p", index=0)])
    s.reserve([Reservation("plan-2", "b", CPU1, pod_uid="uid-q", index=0)])
    assert [r.plan for r in s.release("plan-1")] == ["plan-1"]
    assert [r.plan for r in s.reservations()] == ["plan-2"]
    s.release("plan-2")
    assert not s.holds_reservations
    assert s.holds_for("uid-p", "", {"cpu": 1}).pinned is None
