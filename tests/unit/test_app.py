"""The app wires the PackingPlan journal and leader election when its client reaches the
service's own objects: the plans API serves the PackingPlans the watch lists, the replica takes the
Lease (``scheduler_ext_leader``) and releases it on shutdown; without PackingPlans served, plans
stay in memory; a replica that does not plan never runs for the Lease."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from scheduler_ext.app import OwnObjectsClient, create_app
from scheduler_ext.config import LeaderElectionSettings, PlanningSettings, Settings
from scheduler_ext.planning.history import PlanHistory
from scheduler_ext.planning.packingplans import PackingPlanJournal
from testkit.wait import wait_for
from tests.unit.planning.fakes import FakeLeases, FakePlanApi

PLAN = {
    "apiVersion": "scheduler-ext.io/v1alpha1",
    "kind": "PackingPlan",
    "metadata": {
        "name": "plan-old",
        "namespace": "ops",
        "uid": "u1",
        "resourceVersion": "7",
        "creationTimestamp": "2026-12-01T10:00:00Z",
    },
    "spec": {"bindings": [], "moves": [], "evictions": [], "unplanned": []},
    "status": {"phase": "Completed", "reason": "done", "improves": True, "counts": {"moves": 0}},
}


class FakeCluster(FakePlanApi, FakeLeases):
    """An empty cluster whose API server serves (or not) PackingPlans and Leases."""

    def __init__(self, *, served: bool = True) -> None:
        FakePlanApi.__init__(self)
        FakeLeases.__init__(self)
        self.namespace = "ops"
        self.served = served
        self.closed = threading.Event()

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        raise AssertionError("no bind expected")

    def plans_served(self) -> bool:
        return self.served

    def list_objects(self, kind: str) -> tuple[list[Mapping[str, Any]], str]:
        return ([PLAN] if kind == "PackingPlan" else []), "7"

    def watch(
        self, kind: str, resource_version: str, timeout: int
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        self.closed.wait(0.5)
        yield from ()


def _settings(**planning: Any) -> Settings:
    return Settings(
        planning=PlanningSettings(**{"solver": "greedy", **planning}),  # no child process
        # A quick first try (0.1 s), but a renewal may stall for long on a loaded machine
        # without the replica losing the Lease: this test's claims (taken, released on
        # shutdown) must not depend on how promptly a thread runs.
        leader_election=LeaderElectionSettings(
            identity="me",
            lease_duration_seconds=120,
            renew_deadline_seconds=100,
            retry_period_seconds=0.1,
        ),
    )


def _leader(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("scheduler_ext_leader "):
            return float(line.split()[1])
    raise AssertionError("no scheduler_ext_leader")


def test_packingplans_and_the_lease_when_the_api_server_serves_them() -> None:
    fake = FakeCluster()
    assert isinstance(fake, OwnObjectsClient)
    app = create_app(_settings(), client=fake, registry=CollectorRegistry())
    with TestClient(app) as client:
        assert isinstance(app.state.service.plans, PackingPlanJournal)
        wait_for(lambda: _leader(client), lambda flag: flag == 1.0, description="leading")
        assert fake.holder("scheduler-ext") == "me"
        served = wait_for(
            lambda: client.get("/api/v1/plans").json()["items"],
            bool,
            description="the listed plan served",
        )
        assert served == [
            {
                "apiVersion": "scheduler-ext.io/v1alpha1",
                "kind": "PackingPlan",
                "metadata": {"name": "plan-old", "creationTimestamp": "2026-12-01T10:00:00Z"},
                "spec": PLAN["spec"],
                "status": {"phase": "Completed", "reason": "done", "improves": True},
            }
        ]
        assert client.get("/api/v1/plans/plan-old").json() == served[0]
        fake.closed.set()
    # Released on shutdown, by the elector's thread: the lifespan waits for it only so long (a
    # stalled machine may finish the release just after).
    wait_for(
        lambda: fake.holder("scheduler-ext"),
        lambda holder: holder == "",
        description="the Lease released on shutdown",
    )


def test_plans_stay_in_memory_when_packingplans_are_not_served() -> None:
    fake = FakeCluster(served=False)
    app = create_app(_settings(), client=fake, registry=CollectorRegistry())
    with TestClient(app) as client:
        assert isinstance(app.state.service.plans, PlanHistory)
        assert client.get("/api/v1/plans").json()["items"] == []
        wait_for(lambda: _leader(client), lambda flag: flag == 1.0, description="leading")
        fake.closed.set()


def test_a_replica_that_does_not_plan_never_takes_the_lease() -> None:
    fake = FakeCluster()
    app = create_app(_settings(enabled=False), client=fake, registry=CollectorRegistry())
    with TestClient(app) as client:
        assert _leader(client) == 0.0
        fake.closed.set()
    assert fake.leases == {}
