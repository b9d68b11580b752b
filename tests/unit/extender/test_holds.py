"""While a plan holds room: filter keeps it from every pod it is not held for, keeps the pods it is
held for to their planned nodes (unresolvable elsewhere, so preemption skips those nodes), and
preempt answers no candidate for a pod room is held for. With nothing held, answers are as
before."""

from __future__ import annotations

from scheduler_ext.cluster.reservations import Reservation, demand_items
from scheduler_ext.extender import verbs
from testkit.builders import owner_reference
from tests.unit.extender.test_verbs import Deps, call, pod, synced_store

CPU1 = demand_items({"cpu": 1000, "pods": 1})


def held_deps() -> Deps:
    """Nodes a (2 cpu, 1.5 used), b (1), c (4); 1 cpu on c held for pod p, 1 cpu on b for a
    replacement of ReplicaSet rs-uid."""
    deps = Deps(synced_store())
    deps.store.apply("Pod", "ADDED", pod("p", "1"))
    deps.store.reserve(
        [
            Reservation("plan-1", "c", CPU1, pod_uid="uid-p", index=0),
            Reservation("plan-1", "b", CPU1, owner_uid="rs-uid", index=1),
        ]
    )
    return deps


def test_held_room_is_kept_from_other_pods() -> None:
    deps = held_deps()
    body = {"Pod": pod("q", "1"), "NodeNames": ["b", "c"]}
    _, answer = call(verbs.answer_filter, deps, body)
    assert answer["NodeNames"] == ["c"]  # 4 - 1 held: room for 1 more
    assert set(answer["FailedNodes"]) == {"b"}
    _, answer = call(verbs.answer_filter, deps, {"Pod": pod("q", "3500m"), "NodeNames": ["c"]})
    assert answer["NodeNames"] == []
    assert "held" in answer["FailedNodes"]["c"]


def test_the_pod_room_is_held_for_goes_only_to_its_node() -> None:
    deps = held_deps()
    _, answer = call(verbs.answer_filter, deps, {"Pod": pod("p", "1"), "NodeNames": ["b", "c"]})
    assert answer["NodeNames"] == ["c"]
    assert list(answer["FailedAndUnresolvableNodes"]) == ["b"]


def test_a_replacement_is_matched_by_owner_and_shape() -> None:
    deps = held_deps()
    replacement = pod("web-2", "1")
    replacement["metadata"]["ownerReferences"] = [owner_reference("ReplicaSet", "rs", uid="rs-uid")]
    _, answer = call(verbs.answer_filter, deps, {"Pod": replacement, "NodeNames": ["a", "b", "c"]})
    assert answer["NodeNames"] == ["b"]
    assert set(answer["FailedAndUnresolvableNodes"]) == {"c"}  # a already lacks room
    bigger = pod("web-3", "2")
    bigger["metadata"]["ownerReferences"] = replacement["metadata"]["ownerReferences"]
    _, answer = call(verbs.answer_filter, deps, {"Pod": bigger, "NodeNames": ["c"]})
    assert answer["NodeNames"] == ["c"]
    assert answer["FailedAndUnresolvableNodes"] is None


def test_preempt_offers_no_victim_for_a_pod_room_is_held_for() -> None:
    deps = held_deps()
    victims = {"c": {"Pods": [{"UID": "uid-busy"}], "NumPDBViolations": 0}}
    body = {"Pod": pod("p", "1"), "NodeNameToMetaVictims": victims}
    _, answer = call(verbs.answer_preempt, deps, body)
    assert answer == {"NodeNameToMetaVictims": {}}
    body = {"Pod": pod("q", "1"), "NodeNameToMetaVictims": victims}
    _, answer = call(verbs.answer_preempt, deps, body)
    assert answer == {"NodeNameToMetaVictims": victims}


def test_nothing_held_answers_as_before() -> None:
    deps = held_deps()
    deps.store.release("plan-1")
    _, answer = call(verbs.answer_filter, deps, {"Pod": pod("p", "1"), "NodeNames": ["b", "c"]})
    assert answer["NodeNames"] == ["b", "c"]
    assert answer["FailedAndUnresolvableNodes"] is None


def test_preempt_offers_no_victim_while_the_planner_decides() -> None:
    deps = held_deps()
    deps.store.release("plan-1")
    deps.deferred.add("ns/q")
    victims = {"c": {"Pods": [{"UID": "uid-busy"}], "NumPDBViolations": 0}}
    _, answer = call(
        verbs.answer_preempt, deps, {"Pod": pod("q", "1"), "NodeNameToMetaVictims": victims}
    )
    assert answer == {"NodeNameToMetaVictims": {}}
    deps.deferred.clear()
    _, answer = call(
        verbs.answer_preempt, deps, {"Pod": pod("q", "1"), "NodeNameToMetaVictims": victims}
    )
    assert answer == {"NodeNameToMetaVictims": victims}
