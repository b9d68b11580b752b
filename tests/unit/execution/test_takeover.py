"""A plan another process left active is taken over: resumed where the live state still follows
it (room held again first, no victim evicted twice, room already taken counted taken), aborted
with "leader changed mid-plan: ..." where it does not; a Pending plan is not executed; a lost
Lease drops the run here without a write."""

from __future__ import annotations

import copy

from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.execution.executor import Executor
from scheduler_ext.execution.record import ExecutionRecord
from scheduler_ext.model.movability import DEFAULT_POLICY
from scheduler_ext.planning.history import Phase
from testkit.wait import wait_for
from tests.unit.execution.harness import PLAN, Harness, node, plan_dict, pod, successor

DELETED_AT = "2026-12-01T12:00:00Z"


def _evicting() -> Harness:
    """The first leader held the room and evicted v; v is Terminating (a slow victim)."""
    h = Harness()
    assert h.submit()
    h.step()
    h.step(1.0)
    assert h.phase == "Evicting"
    assert h.client.evictions == [("ns", "v", "uid-v")]
    h.store.apply("Pod", "MODIFIED", pod("v", "1", "a", deletionTimestamp=DELETED_AT))
    h.store.apply("Pod", "ADDED", pod("v2", "1"))  # the replacement, pending
    return h


def _status(h: Harness) -> dict[str, object]:
    found = h.journal.get(PLAN)
    assert found is not None
    return dict(found["status"])


def test_the_record_names_the_pods_by_uid_and_round_trips() -> None:
    h = _evicting()
    execution = _status(h)["execution"]
    record = ExecutionRecord.parse(PLAN, execution)
    assert record.evicted == {"ns/v"}
    assert record.known == {"rs-uid": {"uid-v"}}
    assert [(p.key, p.uid, p.node) for p in record.targets.placements] == [("ns/p", "uid-p", "a")]
    assert record.to_dict() == execution


def test_an_evicting_plan_is_resumed_without_a_second_eviction() -> None:
    h = _evicting()
    executor = successor(h)
    assert executor.busy()
    assert not h.step()
    assert h.phase == "Evicting"
    assert h.reason == "leader changed mid-plan: resumed in Evicting"
    assert {(r.node, r.label) for r in h.store.reservations()} == {
        ("a", "ns/p"),
        ("b", "replacement of ns/v"),
    }
    assert h.client.evictions == [("ns", "v", "uid-v")]  # not again
    assert "PlanResumed" in h.client.reasons()
    h.store.apply("Pod", "MODIFIED", pod("v2", "1", "b"))  # takes its room
    h.store.apply("Pod", "DELETED", pod("v", "1", "a", deletionTimestamp=DELETED_AT))
    assert not h.step()
    assert h.client.binds == [("ns", "p", "uid-p", "a")]
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))
    assert h.step()
    assert h.phase == "Completed"
    assert h.store.reservations() == []


def test_a_victim_evicted_just_before_the_crash_is_not_evicted_again() -> None:
    h = _evicting()
    found = h.journal.get(PLAN)
    assert found is not None
    found["status"]["execution"]["evicted"] = []  # the crash came before the record was kept
    successor(h)
    assert not h.step()
    assert h.phase == "Evicting"
    assert h.client.evictions == [("ns", "v", "uid-v")]
    assert ExecutionRecord.parse(PLAN, _status(h)["execution"]).evicted == {"ns/v"}


def test_room_taken_while_no_process_held_it_is_counted_taken() -> None:
    h = _evicting()
    h.store.apply("Pod", "MODIFIED", pod("v2", "1", "b"))  # landed during the hand-over
    successor(h)
    assert not h.step()
    assert [r.label for r in h.store.reservations()] == ["ns/p"]
    assert h.store.consumed(PLAN) == {f"{PLAN}#1": "ns/v2"}


def test_a_drifted_state_aborts_with_the_reason() -> None:
    h = _evicting()
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "b", owner=None))
    successor(h)
    assert h.step()
    assert h.phase == "Aborted"
    assert h.reason == (
        "leader changed mid-plan: state drifted: planned pod ns/p was placed on b, not on a"
    )
    assert h.store.reservations() == []
    assert h.metric("scheduler_ext_plan_outcomes_total", outcome="aborted", cause="drift") == 1
    assert h.client.evictions == [("ns", "v", "uid-v")]


def test_room_no_longer_fitting_aborts_before_any_eviction() -> None:
    h = Harness()
    assert h.submit()
    h.step()  # Reserving: nothing evicted yet
    h.store.apply("Pod", "ADDED", pod("x", "500m", "b", owner=None))  # no hold kept it off
    successor(h)
    assert h.step()
    assert h.phase == "Aborted"
    assert h.reason.startswith("leader changed mid-plan: the room held on b does not fit")
    assert h.client.evictions == []


def test_a_plan_past_its_deadline_is_aborted() -> None:
    h = _evicting()
    h.clock.now += 61
    successor(h)
    assert h.step()
    assert h.reason.startswith("leader changed mid-plan: its deadline passed in Evicting")
    assert h.store.reservations() == []


def test_a_pending_plan_is_not_executed_and_a_non_improving_one_is_left() -> None:
    h = Harness()
    h.journal.add(plan_dict())
    idle = copy.deepcopy(plan_dict())
    idle["metadata"]["name"] = "plan-idle"
    idle["status"]["improves"] = False
    h.journal.add(idle)
    executor = successor(h)
    assert not executor.busy()
    assert h.phase == "Aborted"
    assert h.reason == "not executed: leader changed mid-plan before it started; planned again"
    assert h.journal.get("plan-idle")["status"]["phase"] == "Pending"  # type: ignore[index]
    assert h.metric("scheduler_ext_plan_outcomes_total", outcome="aborted", cause="takeover") == 1


def test_a_running_plan_without_a_record_is_aborted() -> None:
    h = Harness()
    h.journal.add(plan_dict())
    h.journal.set_phase(PLAN, Phase.EVICTING, "evicting 1 pod(s)")
    successor(h)
    assert h.phase == "Aborted"
    assert h.reason == "leader changed mid-plan: cannot resume it: no execution record"


def test_losing_the_lease_drops_the_run_here_without_a_write() -> None:
    h = _evicting()
    leading = [True]
    executor = successor(h, may_act=lambda: leading[0])
    h.step()
    leading[0] = False
    executor.start()
    try:
        wait_for(lambda: executor._run, lambda run: run is None, description="the run dropped")
        # A follower now: it keeps holding the room while the journal says the plan runs.
        wait_for(h.store.reservations, bool, description="the room mirrored")
    finally:
        executor.stop()
    assert h.phase == "Evicting"  # left to the next leader
    assert "PlanAborted" not in h.client.reasons()


def test_a_follower_holds_the_room_the_leaders_running_plan_holds() -> None:
    h = _evicting()
    store = ClusterStore()
    for kind in KINDS:
        store.replace(kind, [])
    store.replace("Node", [node("a"), node("b")])
    for obj in (
        pod("v", "1", "a", deletionTimestamp=DELETED_AT),
        pod("w", "1", "b", owner=None),
        pod("p", "2", owner=None),
        pod("v2", "1"),
    ):
        store.apply("Pod", "ADDED", obj)
    follower = Executor(
        store, h.journal, h.client, h.metrics, DEFAULT_POLICY,
        deadline_seconds=60.0, poll_seconds=0.1, event_namespace="default",
        clock=h.clock, now=h.clock, may_act=lambda: False,
    )  # fmt: skip
    follower.mirror()
    assert {(r.node, r.label) for r in store.reservations()} == {
        ("a", "ns/p"),
        ("b", "replacement of ns/v"),
    }
    holds = store.holds_for("uid-x", "", {"cpu": 100})
    assert holds.against == {"a": {"cpu": 2000, "pods": 1}, "b": {"cpu": 1000, "pods": 1}}
    store.apply("Pod", "MODIFIED", pod("v2", "1", "b"))  # consumed here as on the leader
    assert [r.label for r in store.reservations()] == ["ns/p"]
    h.executor._run.abort("drift", "a test")  # type: ignore[union-attr]
    follower.mirror()
    assert store.reservations() == []
    assert not store.holds_reservations


def test_a_follower_stops_holding_at_the_plans_deadline() -> None:
    h = _evicting()
    follower = successor(h, may_act=lambda: False)
    follower.mirror()
    assert h.store.reservations()
    h.clock.now += 61
    follower.mirror()
    assert h.store.reservations() == []
