"""Health, readiness, metrics exposition and the read-only plans API."""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI
from fastapi.testclient import TestClient

from scheduler_ext.cluster.kinds import KINDS, Kind
from scheduler_ext.cluster.plan_store import PlanStore
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.planning.packingplans import PackingPlanJournal, PlanObjects
from testkit.factories import plan_dict
from tests.unit.api.conftest import filled_store, make_client, post, recorded


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert make_client(ClusterStore()).get("/healthz").status_code == 200


def test_not_ready_before_the_start_up_is_complete() -> None:
    # The admin listener starts first and may be probed before the verbs listen.
    app = make_client(filled_store())  # no lifespan run: the start-up has not happened
    starting = app.get("/readyz")
    assert (starting.status_code, starting.json()) == (
        503,
        {"status": "starting: the verbs are not served yet"},
    )
    with app as started:
        assert started.get("/readyz").status_code == 200


def test_metrics_count_verbs_with_base_units(client: TestClient) -> None:
    post(client, "filter", recorded("filter.node-cache"))
    post(client, "prioritize", recorded("prioritize.node-cache"))
    text = client.get("/metrics").text
    assert 'scheduler_ext_verb_duration_seconds_count{verb="filter"} 1.0' in text
    assert 'scheduler_ext_verb_duration_seconds_count{verb="prioritize"} 1.0' in text
    assert "scheduler_ext_state_synced 1.0" in text
    for name in (
        "scheduler_ext_verb_errors_total",
        "scheduler_ext_plans_total",
        "scheduler_ext_solve_duration_seconds",
        "scheduler_ext_plan_placeable_pods",
        "scheduler_ext_pending_pods",
        "scheduler_ext_watch_restarts_total",
        "scheduler_ext_watch_events_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def test_plans_api_lists_newest_first_and_gets_by_name(client: TestClient) -> None:
    assert client.get("/api/v1/plans").json()["items"] == []
    plans = client.app.state.service.plans  # type: ignore[attr-defined]
    for name in ("plan-a", "plan-b"):
        document = plan_dict()
        document["metadata"]["name"] = name
        plans.add(document)
    listed = client.get("/api/v1/plans").json()
    assert listed["kind"] == "PackingPlanList"
    assert [p["metadata"]["name"] for p in listed["items"]] == ["plan-b", "plan-a"]
    assert client.get("/api/v1/plans/plan-a").json()["metadata"]["name"] == "plan-a"
    missing = client.get("/api/v1/plans/nope")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "plan 'nope' not found"}


def test_readiness_falls_back_while_the_state_is_stale() -> None:
    now = [0.0]
    store = ClusterStore(staleness=5.0, clock=lambda: now[0])
    for kind in KINDS:
        store.replace(kind, [])
        store.note_contact(kind)
    with make_client(store) as client:
        assert client.get("/readyz").status_code == 200
        now[0] = 6.0
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert "stale" in stale.json()["status"]
        assert "scheduler_ext_state_fresh 0.0" in client.get("/metrics").text
        for kind in KINDS:
            store.note_contact(kind)
        assert client.get("/readyz").status_code == 200


def test_with_an_admin_port_plans_and_metrics_move_off_the_verbs_port() -> None:
    from scheduler_ext.config import ServerSettings

    store = filled_store()
    with make_client(store, server=ServerSettings(admin_port=9999)) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/api/v1/plans").status_code == 404
        assert client.get("/readyz").status_code == 200
        assert post(client, "filter", recorded("filter.node-cache")).status_code == 200
        app = client.app
        assert isinstance(app, FastAPI)
        admin = TestClient(app.state.admin_app)
        assert admin.get("/metrics").status_code == 200
        assert admin.get("/api/v1/plans").json()["items"] == []
        assert admin.get("/readyz").status_code == 200
        assert admin.post("/scheduler/filter", json={}).status_code == 404  # no verbs there


def test_not_ready_until_the_packingplans_are_listed() -> None:
    # The plans API answers from the watched PackingPlans: before their first list a plan that
    # exists would be a 404, so readiness waits for it as for the cluster's own kinds.
    plans = PlanStore()
    with make_client(filled_store()) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        service.plans = PackingPlanJournal(cast(PlanObjects, object()), plans, keep=10)
        waiting = client.get("/readyz")
        assert (waiting.status_code, waiting.json()) == (
            503,
            {"status": "PackingPlans not listed yet"},
        )
        plans.replace(Kind.PACKING_PLAN, [])
        assert client.get("/readyz").status_code == 200
