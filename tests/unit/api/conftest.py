"""An app around a real ClusterStore filled from the recorded scenario, and a fake bind client.

The recordings (tests/data/extender-requests/) come from two kwok nodes with 2 CPU and 4Gi each;
the pod in the filter and prioritize bodies (``low-0``) asks for 1500m CPU and 128Mi. Here
``low-1`` (1500m) already runs on n0, so by the service's accounting low-0 fits only on n1.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from scheduler_ext.app import create_app
from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.config import ClusterSettings, PlanningSettings, Settings
from scheduler_ext.errors import BindError
from testkit.builders import api_pod

RECORDINGS = Path(__file__).parents[2] / "data" / "extender-requests"
JSON = {"content-type": "application/json"}
N0, N1 = "record-92002c-n0", "record-92002c-n1"
NAMESPACE = "record-92002c"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / f"{name}.json").read_text())
    return data


def recorded_nodes() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = recorded("filter.full-nodes")["Nodes"]["items"]
    return items


def running_pod(name: str, node: str, cpu: str = "1500m", uid: str = "") -> dict[str, Any]:
    return api_pod(
        name, namespace=NAMESPACE, uid=uid or f"uid-{name}", node_name=node, requests={"cpu": cpu}
    )


class FakeBinder:
    """Records bindings; fails with BindError for pods named in ``refuse``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []
        self.refuse: set[str] = set()

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        self.calls.append((namespace, name, uid, node))
        if name in self.refuse:
            raise BindError(f"binding {namespace}/{name} to {node}: 409 Conflict: already bound")


def recorded_pod() -> dict[str, Any]:
    """The pending pod of the recorded filter, prioritize and bind bodies (``low-0``)."""
    pod: dict[str, Any] = recorded("filter.node-cache")["Pod"]
    return pod


def filled_store(pods: list[dict[str, Any]] | None = None) -> ClusterStore:
    """The recorded nodes and ``low-1`` running on n0 (unless ``pods``). The pending ``low-0`` of
    the recorded bodies is not in it: its answers come from the bodies (``with_pending``)."""
    store = ClusterStore()
    store.replace("Node", recorded_nodes())
    store.replace("Pod", pods if pods is not None else [running_pod("low-1", N0)])
    for kind in KINDS:
        if kind not in ("Node", "Pod"):
            store.replace(kind, [])
    return store


def with_pending(store: ClusterStore) -> ClusterStore:
    """``store`` with the recorded bodies' pending ``low-0`` watched: what a bind needs."""
    store.apply("Pod", "ADDED", recorded_pod())
    return store


def make_client(
    store: ClusterStore, binder: FakeBinder | None = None, **settings: Any
) -> TestClient:
    settings.setdefault("cluster", ClusterSettings(bind_wait_seconds=0))
    config = Settings(planning=PlanningSettings(enabled=False), **settings)
    app = create_app(config, store=store, client=binder, registry=CollectorRegistry())
    return TestClient(app, raise_server_exceptions=True)


@pytest.fixture
def binder() -> FakeBinder:
    return FakeBinder()


@pytest.fixture
def store() -> ClusterStore:
    return filled_store()


@pytest.fixture
def client(store: ClusterStore, binder: FakeBinder) -> Iterator[TestClient]:
    with make_client(store, binder) as test_client:
        yield test_client


def post(client: TestClient, verb: str, body: object) -> Any:
    return client.post(f"/scheduler/{verb}", content=json.dumps(body), headers=JSON)


def copy_of(name: str) -> dict[str, Any]:
    return copy.deepcopy(recorded(name))
