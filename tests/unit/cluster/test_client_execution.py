"""``KubeClient``'s writes for plan execution against a fake API server: an eviction carries the
pod's UID as precondition and is read by its body (a 201 carrying the two-budgets Failure is a
refusal), annotations go as a merge patch, and an Event is sent exactly as given (``eventTime``
with its six fractional digits, which the generated call would rewrite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scheduler_ext.cluster.client import KubeClient
from scheduler_ext.cluster.eviction import EvictionResult
from scheduler_ext.errors import ExecutionError
from testkit.fake_api import JsonHandler, connected

TWO_BUDGETS = {
    "kind": "Status",
    "status": "Failure",
    "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource "
    "does not support.",
    "code": 500,
}


class FakeApi(JsonHandler):
    answer: ClassVar[tuple[int, dict[str, Any]]] = (201, {"kind": "Status", "status": "Success"})
    requests: ClassVar[list[tuple[str, str, str, dict[str, Any]]]] = []
    protocol_version = "HTTP/1.1"

    def _record(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.command, self.path, self.headers["Content-Type"], body))
        self.reply(*self.answer)

    def do_POST(self) -> None:
        self._record()

    def do_PATCH(self) -> None:
        self._record()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[KubeClient]:
    FakeApi.answer = (201, {"kind": "Status", "status": "Success", "code": 201})
    FakeApi.requests = []
    with connected(FakeApi, tmp_path) as kube:
        yield kube


def test_an_eviction_names_the_pods_uid(client: KubeClient) -> None:
    assert client.evict("ns", "v", "uid-v").result is EvictionResult.EVICTED
    [(method, path, _, body)] = FakeApi.requests
    assert (method, path) == ("POST", "/api/v1/namespaces/ns/pods/v/eviction")
    assert body["apiVersion"] == "policy/v1"
    assert body["deleteOptions"] == {"preconditions": {"uid": "uid-v"}}


def test_a_201_carrying_a_failure_is_a_refusal(client: KubeClient) -> None:
    FakeApi.answer = (201, TWO_BUDGETS)
    outcome = client.evict("ns", "v", "uid-v")
    assert outcome.result is EvictionResult.REFUSED
    assert "more than one PodDisruptionBudget" in outcome.detail


def test_a_429_is_blocked(client: KubeClient) -> None:
    FakeApi.answer = (429, {"kind": "Status", "message": "would violate", "code": 429})
    assert client.evict("ns", "v", "uid-v").result is EvictionResult.BLOCKED


def test_annotations_are_a_merge_patch(client: KubeClient) -> None:
    FakeApi.answer = (200, {"kind": "Pod"})
    client.annotate_pod("ns", "p", {"scheduler-ext.io/plan": None})
    [(method, path, content_type, body)] = FakeApi.requests
    assert (method, path, content_type) == (
        "PATCH",
        "/api/v1/namespaces/ns/pods/p",
        "application/merge-patch+json",
    )
    assert body == {"metadata": {"annotations": {"scheduler-ext.io/plan": None}}}


def test_an_event_is_sent_as_given_and_a_refusal_raises(client: KubeClient) -> None:
    event = {"kind": "Event", "eventTime": "2026-01-01T00:00:00.000000Z", "note": "n"}
    client.create_event("ns", event)
    [(method, path, _, body)] = FakeApi.requests
    assert (method, path) == ("POST", "/apis/events.k8s.io/v1/namespaces/ns/events")
    assert body == event
    FakeApi.answer = (403, {"kind": "Status", "message": "forbidden", "code": 403})
    with pytest.raises(ExecutionError, match=r"^recording an Event in ns: 403"):
        client.create_event("ns", event)
