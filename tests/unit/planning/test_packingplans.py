"""The plan journal on PackingPlan objects, against a fake of the API server's calls: what it
writes (spec on create, status through the subresource), what it reads back (the plan as rendered,
plus phase and reason), retention, a name taken, a plan too large for etcd, and a second replica
that reads the same plans from its own watch."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.plan_store import PlanStore
from scheduler_ext.domain import Binding, Move, PackingPlan, PlanStatus, TierCount, Unplanned
from scheduler_ext.errors import ClusterWriteError
from scheduler_ext.planning.history import Phase, PlanDict
from scheduler_ext.planning.object_size import MAX_PLAN_BYTES
from scheduler_ext.planning.packingplans import PackingPlanJournal
from scheduler_ext.planning.render import plan_to_dict
from tests.unit.planning.fakes import FakePlanApi


def _plan(name: str, *, moves: int = 1, unplanned: int = 1) -> PlanDict:
    plan = PackingPlan(
        name=name,
        bindings=(Binding("prod/api-7", "n3"),),
        moves=tuple(Move(f"batch/w-{i}", "n3", "n1") for i in range(moves)),
        evictions=(),
        unplanned=tuple(
            Unplanned(f"dev/p-{i}", "no room at its priority") for i in range(unplanned)
        ),
        status=PlanStatus(
            optimal=True,
            improves=True,
            solver="cpsat",
            wall_seconds=0.41,
            placed_by_priority=(TierCount(1000, 0, 1),),
        ),
        extra={"stages": [{"name": "greedy", "status": "feasible", "seconds": 0.01}]},
    )
    return plan_to_dict(plan)


def _journal(
    api: FakePlanApi, *, keep: int = 50, keep_unfinished: bool = True
) -> PackingPlanJournal:
    return PackingPlanJournal(api, PlanStore(), keep=keep, keep_unfinished=keep_unfinished)


def test_a_plan_reads_back_as_rendered_plus_its_phase() -> None:
    api = FakePlanApi()
    journal = _journal(api)
    journal.add(_plan("plan-a"))
    expected = _plan("plan-a")
    expected["status"]["phase"] = "Pending"
    expected["metadata"]["creationTimestamp"] = "2026-12-01T12:00:00Z"
    assert journal.get("plan-a") == expected
    assert journal.list() == [expected]
    assert journal.latest() == expected
    # Created without status (a subresource), then the status written through it:
    assert "status" not in api.created_bodies[0]
    assert api.calls == [("create", "plan-a"), ("status", "plan-a")]
    stored = api.objects["plan-a"]["status"]
    assert stored["counts"] == {"bindings": 1, "moves": 1, "evictions": 0, "unplanned": 1}
    assert stored["phase"] == "Pending"


def test_phases_and_active_plans() -> None:
    api = FakePlanApi()
    journal = _journal(api)
    for name in ("plan-a", "plan-b", "plan-c"):
        journal.add(_plan(name))
    journal.set_phase("plan-a", Phase.COMPLETED, "every planned pod runs")
    journal.set_phase("plan-c", Phase.EVICTING, "2 evictions asked")
    assert api.objects["plan-c"]["status"]["phase"] == "Evicting"
    assert api.objects["plan-c"]["status"]["reason"] == "2 evictions asked"
    assert [p["metadata"]["name"] for p in journal.list()] == ["plan-c", "plan-b", "plan-a"]
    assert [p["metadata"]["name"] for p in journal.active()] == ["plan-b", "plan-c"]
    assert (journal.get("plan-c") or {})["status"]["reason"] == "2 evictions asked"
    with pytest.raises(KeyError):
        journal.set_phase("plan-missing", Phase.ABORTED, "gone")


def test_retention_deletes_older_finished_plans_and_keeps_unfinished_ones() -> None:
    api = FakePlanApi()
    journal = _journal(api, keep=2)
    journal.add(_plan("plan-a"))
    journal.add(_plan("plan-b"))
    journal.set_phase("plan-b", Phase.ABORTED, "a node is gone")
    journal.add(_plan("plan-c"))  # plan-a (Pending) is beyond the newest 2: kept, unfinished
    journal.add(_plan("plan-d"))  # plan-b (Aborted) is beyond them now: deleted
    assert sorted(api.objects) == ["plan-a", "plan-c", "plan-d"]
    assert [p["metadata"]["name"] for p in journal.list()] == ["plan-d", "plan-c", "plan-a"]
    journal.set_phase("plan-a", Phase.COMPLETED, "done")
    journal.add(_plan("plan-e"))  # plan-a (Completed now) goes; plan-c stays (Pending)
    assert sorted(api.objects) == ["plan-c", "plan-d", "plan-e"]
    assert journal.get("plan-a") is None


def test_in_dry_run_retention_deletes_unfinished_plans_too() -> None:
    api = FakePlanApi()
    journal = _journal(api, keep=2, keep_unfinished=False)
    for name in ("plan-a", "plan-b", "plan-c"):
        journal.add(_plan(name))
    assert sorted(api.objects) == ["plan-b", "plan-c"]


def test_a_second_replica_sees_the_plans_through_its_watch() -> None:
    api = FakePlanApi()
    leader = _journal(api)
    leader.add(_plan("plan-a"))
    leader.set_phase("plan-a", Phase.RESERVING, "room held on n1")
    store = PlanStore()
    follower = PackingPlanJournal(api, store, keep=50)
    assert follower.list() == []
    store.replace("PackingPlan", api.listed())  # its informer's list
    assert follower.get("plan-a") == leader.get("plan-a")
    assert [p["metadata"]["name"] for p in follower.active()] == ["plan-a"]
    store.apply("PackingPlan", "DELETED", api.listed()[0])
    assert follower.get("plan-a") is None


def test_a_late_watch_event_does_not_undo_a_write() -> None:
    api = FakePlanApi()
    store = PlanStore()
    journal = PackingPlanJournal(api, store, keep=50)
    journal.add(_plan("plan-a"))
    created = dict(api.created_bodies[0])
    created["metadata"] = {**created["metadata"], "resourceVersion": "100"}  # the ADDED event
    store.apply("PackingPlan", "ADDED", created)
    assert (journal.get("plan-a") or {})["status"]["solver"] == "cpsat"


def test_a_plan_whose_status_is_not_written_yet_is_not_served() -> None:
    api = FakePlanApi()
    store = PlanStore()
    journal = PackingPlanJournal(api, store, keep=50)
    journal.add(_plan("plan-a"))
    # plan-b's ADDED event, seen between its create and its status write:
    half = {**api.created_bodies[0], "metadata": {"name": "plan-b", "resourceVersion": "7"}}
    store.apply("PackingPlan", "ADDED", half)
    assert [p["metadata"]["name"] for p in journal.list()] == ["plan-a"]
    assert journal.get("plan-b") is None
    assert (journal.latest() or {})["metadata"]["name"] == "plan-a"
    # ... but the next leader still finds it, to abort it:
    assert sorted(p["metadata"]["name"] for p in journal.active()) == ["plan-a", "plan-b"]


def test_a_taken_name_gets_a_suffix_in_the_callers_copy_too() -> None:
    api = FakePlanApi()
    first = _journal(api)
    first.add(_plan("plan-a"))
    other = _journal(api)  # another replica, right after a failover
    plan = _plan("plan-a")
    other.add(plan)
    renamed = plan["metadata"]["name"]
    assert renamed.startswith("plan-a-")
    assert renamed in api.objects
    assert len(api.objects) == 2


def test_a_failed_status_write_is_an_error_of_one_line() -> None:
    api = FakePlanApi()
    api.fail_status = True
    with pytest.raises(ClusterWriteError, match=r"^updating the status of packingplan plan-a"):
        _journal(api).add(_plan("plan-a"))


def _json_size(obj: Any) -> int:
    import json

    return len(json.dumps(obj, separators=(",", ":")))


def test_a_plan_too_long_to_list_loses_its_unplanned_tail_and_stays_pending() -> None:
    api = FakePlanApi()
    journal = _journal(api)
    plan = _plan("plan-a", unplanned=20_000)
    journal.add(plan)
    stored = api.objects["plan-a"]
    assert _json_size(stored) <= MAX_PLAN_BYTES + 1_000  # counts and metadata on top
    kept = len(stored["spec"]["unplanned"])
    assert 0 < kept < 20_000
    assert stored["status"]["truncated"] == {"spec.unplanned": 20_000 - kept}
    assert stored["status"]["counts"]["unplanned"] == 20_000  # the whole plan's
    assert stored["status"]["phase"] == "Pending"
    assert stored["spec"]["moves"] == plan["spec"]["moves"]
    assert len(plan["spec"]["unplanned"]) == 20_000  # the caller's copy is whole


def test_a_plan_whose_actions_do_not_fit_is_stored_aborted() -> None:
    api = FakePlanApi()
    journal = _journal(api)
    plan = _plan("plan-a", moves=20_000, unplanned=10)
    journal.add(plan)
    stored = api.objects["plan-a"]
    assert _json_size(stored) <= MAX_PLAN_BYTES + 1_000
    assert stored["spec"]["unplanned"] == []
    assert stored["status"]["truncated"]["spec.unplanned"] == 10
    assert 0 < stored["status"]["truncated"]["spec.moves"] < 20_000
    assert stored["status"]["phase"] == plan["status"]["phase"] == "Aborted"
    assert "too large to store whole" in plan["status"]["reason"]
    assert journal.active() == []


def test_the_execution_record_is_kept_in_status_and_read_by_the_next_leader() -> None:
    api = FakePlanApi()
    leader = _journal(api)
    leader.add(_plan("plan-a"))
    record = {"placements": [{"pod": "prod/api-7", "uid": "u", "node": "n3"}], "evicted": []}
    leader.set_phase("plan-a", Phase.EVICTING, "evicting 1 pod(s)", execution=record)
    leader.set_phase("plan-a", Phase.EVICTING, "evicting 1 pod(s)", execution={"evicted": ["x"]})
    store = PlanStore()
    store.replace("PackingPlan", api.listed())
    [active] = PackingPlanJournal(api, store, keep=50).active()
    # A merge patch merges objects key by key: what the newer record lacks is nulled out.
    assert active["status"]["execution"] == {"placements": None, "evicted": ["x"]}
    assert active["status"]["phase"] == "Evicting"
