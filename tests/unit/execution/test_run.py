"""A plan stepped through its phases on a hand-fed state: room held before any eviction, each
victim re-checked then evicted through the Eviction API, the planned pod bound once the room is
free, Completed only when it and the replacement run on their planned nodes; every refusal, drift
and the deadline abort it with its reservations dropped and the reason told."""

from __future__ import annotations

from scheduler_ext.cluster.eviction import EvictionOutcome, EvictionResult
from testkit.wait import wait_for
from tests.unit.execution.harness import Harness, plan_dict, pod


def _to_evicting(h: Harness, *, ends: bool = False) -> None:
    assert h.submit()
    assert not h.step()
    assert h.phase == "Reserving"
    assert h.client.evictions == []  # room first
    assert {(r.node, r.label) for r in h.store.reservations()} == {
        ("a", "ns/p"),
        ("b", "replacement of ns/v"),
    }
    assert not h.step(0.5)  # not settled yet
    assert h.phase == "Reserving"
    assert h.step(1.0) == ends
    assert h.phase == ("Aborted" if ends else "Evicting")


def test_a_plan_runs_to_completion() -> None:
    h = Harness()
    _to_evicting(h)
    assert h.client.evictions == [("ns", "v", "uid-v")]
    assert h.client.binds == []  # v still holds its room
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    h.store.apply("Pod", "ADDED", pod("v2", "1"))  # the ReplicaSet's replacement
    assert not h.step()
    assert h.phase == "Binding"
    assert h.client.binds == [("ns", "p", "uid-p", "a")]
    assert [r.label for r in h.store.reservations()] == ["replacement of ns/v"]
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))
    assert not h.step()  # the replacement has not landed
    h.store.apply("Pod", "MODIFIED", pod("v2", "1", "b"))
    assert h.step()
    assert h.phase == "Completed"
    assert h.store.reservations() == []
    assert h.metric("scheduler_ext_moves_total", result="landed") == 1
    assert h.metric("scheduler_ext_evictions_total", result="evicted") == 1
    assert h.metric("scheduler_ext_plan_outcomes_total", outcome="completed", cause="") == 1
    assert h.metric("scheduler_ext_reservations_held") == 0
    assert "Moved" in h.client.reasons()
    moved = next(e for e in h.client.events if e["reason"] == "Moved")
    assert moved["note"] == "moved to b to make room for ns/p (plan plan-test-0001)"
    assert moved["regarding"]["name"] == "v"
    assert moved["related"]["name"] == "p"
    assert "PlanSucceeded" in h.client.reasons()


def test_kube_scheduler_binding_the_planned_pod_there_is_fine() -> None:
    h = Harness()
    _to_evicting(h)
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))
    h.store.apply("Pod", "ADDED", pod("v2", "1", "b"))
    assert h.step()
    assert h.phase == "Completed"
    assert h.client.binds == []


def test_a_budget_refusal_aborts_and_drops_the_room() -> None:
    h = Harness()
    h.client.eviction_answer = EvictionOutcome(
        EvictionResult.BLOCKED,
        "429: Cannot evict pod as it would violate the pod's disruption budget.",
    )
    _to_evicting(h, ends=True)
    assert "violate" in h.reason
    assert h.store.reservations() == []
    assert h.client.binds == []
    assert h.metric("scheduler_ext_plan_outcomes_total", outcome="aborted", cause="budget") == 1
    assert h.metric("scheduler_ext_moves_total", result="abandoned") == 1
    assert "PlanAborted" in h.client.reasons()


def test_a_victim_that_opted_out_since_the_plan_is_never_evicted() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    annotated = pod(
        "v", "1", "a", annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    )
    h.store.apply("Pod", "MODIFIED", annotated)
    h.step(2.0)
    assert h.phase == "Aborted"
    assert "safe-to-evict" in h.reason
    assert h.client.evictions == []


def test_a_victim_recreated_under_its_name_is_drift() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    h.store.apply("Pod", "ADDED", pod("v", "1", "a", uid="uid-v-new"))
    h.step(2.0)
    assert h.phase == "Aborted"
    assert "recreated" in h.reason
    assert h.client.evictions == []


def test_the_planned_pod_placed_elsewhere_is_drift() -> None:
    h = Harness()
    _to_evicting(h)
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "b", owner=None))
    h.step()
    assert h.phase == "Aborted"
    assert h.reason == "planned pod ns/p was placed on b, not on a"
    assert h.store.reservations() == []


def test_a_replacement_landing_elsewhere_is_drift() -> None:
    h = Harness()
    _to_evicting(h)
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    h.store.apply("Pod", "ADDED", pod("v2", "1", "a"))
    h.step()
    assert h.phase == "Aborted"
    assert "replacement ns/v2 landed on a, not on b" in h.reason


def test_room_taken_before_the_evictions_aborts_before_any() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    h.store.apply("Pod", "ADDED", pod("x", "500m", "b", owner=None))  # an in-flight placement
    h.step(2.0)
    assert h.phase == "Aborted"
    assert "the room held on b does not fit" in h.reason
    assert h.client.evictions == []


def test_a_node_gone_is_drift() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    h.store.apply("Node", "DELETED", {"metadata": {"name": "b"}})
    h.step(2.0)
    assert h.phase == "Aborted"
    assert h.reason == "node b is gone"


def test_a_stalled_plan_is_aborted_at_its_deadline() -> None:
    h = Harness(deadline=30.0)
    _to_evicting(h)
    h.step(31.0)  # v never goes away
    assert h.phase == "Aborted"
    assert h.reason.startswith("stalled in Evicting past its deadline")
    assert h.metric("scheduler_ext_plan_outcomes_total", outcome="aborted", cause="deadline") == 1


def test_a_plan_that_places_nothing_is_not_taken() -> None:
    h = Harness()
    plan = plan_dict()
    plan["spec"]["bindings"] = []
    assert not h.submit(plan)
    assert h.phase == "Aborted"
    assert h.reason == "not actionable: the plan places no pending pod"
    assert not h.executor.busy()


def test_stopping_mid_plan_aborts_it() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    h.executor.stop()
    assert h.phase == "Aborted"
    assert h.store.reservations() == []


def test_a_victim_whose_new_home_is_not_held_is_never_evicted() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    h.store.apply("Pod", "ADDED", pod("other", "1", "b"))  # same owner and shape: takes the room
    h.step(2.0)
    assert h.phase == "Aborted"
    assert h.reason == "the new home of ns/v on b is not held"
    assert h.client.evictions == []


def test_the_executor_thread_steps_a_plan_on_every_change() -> None:
    h = Harness()
    h.executor.start()
    try:
        assert h.submit()
        wait_for(lambda: h.phase, lambda p: p == "Reserving", description="Reserving")
        h.clock.now += 2  # past the settle time; the poll wakes the thread
        wait_for(lambda: h.client.evictions, bool, description="the eviction")
        h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
        h.store.apply("Pod", "ADDED", pod("v2", "1", "b"))
        wait_for(lambda: h.client.binds, bool, description="the binding")
        h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))
        wait_for(lambda: h.phase, lambda p: p == "Completed", description="Completed")
        wait_for(h.executor.busy, lambda busy: not busy, description="the executor idle")
    finally:
        h.executor.stop()
    assert h.phase == "Completed"


def test_a_failed_binding_is_retried_later_then_aborts() -> None:
    h = Harness()
    h.client.bind_error = "binding ns/p to a: 409 Conflict"
    _to_evicting(h)
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    assert not h.step()
    assert h.phase == "Binding"
    assert not h.step(0.5)  # too soon for a second try
    assert not h.step(2.0)
    assert h.step(2.0)  # the third failure
    assert h.phase == "Aborted"
    assert h.reason.startswith("binding ns/p failed")


RACED = (
    'binding ns/p to a: 409 Conflict: Operation cannot be fulfilled on pods/binding "p": '
    'pod p is already assigned to node "{}"'
)


def test_kube_scheduler_binding_first_to_the_planned_node_is_no_failure() -> None:
    h = Harness()
    h.client.bind_error = RACED.format("a")
    _to_evicting(h)
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    for _ in range(4):  # more than BIND_ATTEMPTS answers of 409: none is a failure
        assert not h.step(2.0)
    assert h.phase == "Binding"
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))
    h.store.apply("Pod", "ADDED", pod("v2", "1", "b"))
    assert h.step()
    assert h.phase == "Completed"


def test_the_planned_pod_bound_elsewhere_by_another_binder_aborts_saying_so() -> None:
    h = Harness()
    h.client.bind_error = RACED.format("b")
    _to_evicting(h)
    h.store.apply("Pod", "DELETED", pod("v", "1", "a"))
    assert h.step()
    assert h.phase == "Aborted"
    assert h.reason == "planned pod ns/p was bound to b by another binder, not to a"
    assert h.store.reservations() == []


def test_stopping_while_another_replica_leads_leaves_the_plan_to_it() -> None:
    h = Harness()
    leading = [True]
    h.executor._may_act = lambda: leading[0]
    assert h.submit()
    h.step()
    leading[0] = False
    h.executor.stop()
    assert h.phase == "Reserving"
    assert h.store.reservations() == []


def test_a_replacement_taking_a_sibling_victims_room_does_not_abort_the_moves() -> None:
    """The 32-node e2e abort: two pods of one ReplicaSet move (v to b, u to c); v's replacement
    lands on c (the filter lets it take either room) while the evictions run; u's replacement
    still has b's room, so u is evicted too, not "the new home ... is not held"."""
    from scheduler_ext.cluster.eviction import EvictionOutcome as Outcome
    from tests.unit.execution.harness import node

    h = Harness()
    h.store.apply("Node", "ADDED", node("c"))
    h.store.apply("Pod", "MODIFIED", pod("v", "500m", "a"))
    h.store.apply("Pod", "ADDED", pod("u", "500m", "a"))
    plan = plan_dict()
    plan["spec"]["bindings"] = [{"pod": "ns/p", "node": "a"}]
    plan["spec"]["moves"] = [
        {"pod": "ns/v", "fromNode": "a", "toNode": "b"},
        {"pod": "ns/u", "fromNode": "a", "toNode": "c"},
    ]
    evict = h.client.evict

    def evict_then_replace(namespace: str, name: str, uid: str) -> Outcome:
        outcome = evict(namespace, name, uid)
        if name == "v":  # kube-scheduler binds v's replacement onto c meanwhile
            h.store.apply("Pod", "DELETED", pod("v", "500m", "a"))
            h.store.apply("Pod", "ADDED", pod("v2", "500m", "c"))
        return outcome

    h.client.evict = evict_then_replace  # type: ignore[method-assign]
    assert h.submit(plan)
    h.step()
    h.step(2.0)
    assert h.phase == "Evicting", h.reason
    assert [e[1] for e in h.client.evictions] == ["v", "u"]
    assert [r.node for r in h.store.reservations() if r.owner_uid] == ["b"]


def test_a_pod_of_the_owner_that_is_no_replacement_taking_held_room_still_aborts() -> None:
    h = Harness()
    assert h.submit()
    h.step()
    h.store.apply("Pod", "ADDED", pod("other", "1"))  # a pending replica, not a replacement
    h.store.assume(h.store.pod("ns/other"), "b")  # type: ignore[arg-type]
    h.step(2.0)
    assert h.phase == "Aborted"
    assert h.reason == "the new home of ns/v on b is not held"
    assert h.client.evictions == []
