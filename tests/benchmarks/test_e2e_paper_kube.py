"""When the stock kube-scheduler's state counts as settled: an unbound pod that fits beside free
room is not the default's last word (kube-scheduler restarted, as its queue's flush would try
it); on hand-made objects of the kubernetes client's models (the live run:
tests/e2e/test_e2e_paper.py). The figures are the smoke run's i1-node-04 of seed 107."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client import (
    V1Container,
    V1Node,
    V1NodeStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodCondition,
    V1PodSpec,
    V1PodStatus,
    V1ResourceRequirements,
)

from benchmarks import e2e_paper_kube
from benchmarks.e2e_paper_kube import fitting, free_room, wait_settled

NODE = V1Node(
    metadata=V1ObjectMeta(name="i1-node-04"),
    status=V1NodeStatus(allocatable={"cpu": "1463m", "memory": "2509285715", "pods": "110"}),
)


def _pod(name: str, cpu: str, memory: str, node: str | None = None, deleting: bool = False) -> Any:
    conditions = (
        []
        if node
        else [V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable")]
    )
    return V1Pod(
        metadata=V1ObjectMeta(
            name=name, deletion_timestamp=datetime(2026, 12, 1, tzinfo=UTC) if deleting else None
        ),
        spec=V1PodSpec(
            node_name=node,
            containers=[
                V1Container(
                    name="c",
                    resources=V1ResourceRequirements(requests={"cpu": cpu, "memory": memory}),
                )
            ],
        ),
        status=V1PodStatus(conditions=conditions),
    )


BOUND = [
    _pod("rs-003-p2-szw5t", "290m", "947000000", "i1-node-04"),
    _pod("rs-006-p2-tjz75", "150m", "668000000", "i1-node-04"),
    _pod("rs-007-p2-lsg8x", "579m", "190000000", "i1-node-04"),
]
SMALL = _pod("rs-006-p2-gqhqk", "150m", "668000000")
LARGE = _pod("rs-007-p2-mttdp", "579m", "190000000")


def test_free_room_is_allocatable_less_the_bound_pods_requests() -> None:
    room = free_room([NODE], [*BOUND, SMALL])
    # 1463m - 1019m; 2,509,285,715 - 1,805,000,000 bytes (nanos: the quantity's value x 1e9)
    assert room == {"i1-node-04": {"cpu": 444 * 10**6, "memory": 704_285_715 * 10**9}}


def test_an_unbound_pod_that_fits_is_found_and_one_that_does_not_is_not() -> None:
    assert fitting([SMALL, LARGE], free_room([NODE], BOUND)) == [("rs-006-p2-gqhqk", "i1-node-04")]


def test_a_pod_still_being_deleted_holds_its_room() -> None:
    leaving = _pod("rs-002-p1-x", "133m", "604000000", "i1-node-04", deleting=True)
    assert fitting([SMALL], free_room([NODE], [*BOUND, leaving])) == []


class _Kube:
    """The namespace's pods as listed; the restarted scheduler binds what fits, once."""

    def __init__(self, pods: list[Any]) -> None:
        self.listed = pods
        self.core = self

    def pods(self, namespace: str) -> list[Any]:
        return list(self.listed)

    def list_pod_for_all_namespaces(self) -> Any:
        return type("PodList", (), {"items": list(self.listed)})()

    def kwok_nodes(self) -> list[Any]:
        return [NODE]


class _Scheduler:
    def __init__(self, kube: _Kube) -> None:
        self.kube = kube
        self.starts = 0

    def stop(self) -> None:
        pass

    def start(self) -> object:
        self.starts += 1
        self.kube.listed = [
            _pod(p.metadata.name, "150m", "668000000", "i1-node-04") if p is SMALL else p
            for p in self.kube.listed
        ]
        return self


class _Stubborn(_Scheduler):
    """A kube-scheduler that leaves the pod where it is however often it starts."""

    def start(self) -> object:
        self.starts += 1
        return self


SETTLE_TIMEOUT = 30.0
"""The fakes settle in a few polls of no wait; the deadline only ends a loop that never would
(a stalled machine must not end one that would)."""


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e2e_paper_kube, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(e2e_paper_kube, "POLL_SECONDS", 0.0)


def test_kube_scheduler_is_restarted_while_a_pending_pod_fits_and_then_it_settles() -> None:
    kube = _Kube([*BOUND, SMALL, LARGE])
    scheduler = _Scheduler(kube)
    wait_settled(kube, "ns", 5, timeout=SETTLE_TIMEOUT, scheduler=scheduler)  # type: ignore[arg-type]
    assert scheduler.starts == 1
    assert [p.spec.node_name for p in kube.listed if p.metadata.name == SMALL.metadata.name] == [
        "i1-node-04"
    ]


def test_restarts_are_bounded_when_kube_scheduler_still_leaves_the_pod() -> None:
    kube = _Kube([*BOUND, SMALL])
    scheduler = _Stubborn(kube)
    wait_settled(kube, "ns", 4, timeout=SETTLE_TIMEOUT, scheduler=scheduler)  # type: ignore[arg-type]
    assert scheduler.starts == e2e_paper_kube.MAX_RESTARTS
