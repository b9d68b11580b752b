"""A small cluster, a fake API client and a hand-driven clock for stepping plans.

Nodes ``a`` and ``b`` have 2 CPUs; ``v`` (ReplicaSet ``rs-uid``) runs on ``a`` and ``w`` on ``b``,
one CPU each; ``p`` (2 CPUs) is Pending. The plan moves ``v`` to ``b`` and binds ``p`` to ``a``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from scheduler_ext.cluster.eviction import EvictionOutcome, EvictionResult
from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.errors import BindError
from scheduler_ext.execution.executor import Executor
from scheduler_ext.metrics import Metrics
from scheduler_ext.model.movability import DEFAULT_POLICY
from scheduler_ext.planning.history import PlanHistory
from testkit.builders import api_node, api_pod, owner_reference

PLAN = "plan-test-0001"
RS = owner_reference("ReplicaSet", "web", uid="rs-uid")


def node(name: str) -> dict[str, Any]:
    return api_node(name, allocatable={"cpu": "2", "memory": "4Gi", "pods": "10"}, ready=None)


def pod(
    name: str,
    cpu: str,
    node_name: str | None = None,
    *,
    owner: Mapping[str, Any] | None = RS,
    uid: str | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    return api_pod(
        name,
        namespace="ns",
        uid=uid or f"uid-{name}",
        node_name=node_name,
        requests={"cpu": cpu},
        owner=owner,
        metadata=metadata,
    )


def plan_dict() -> dict[str, Any]:
    return {
        "apiVersion": "scheduler-ext.io/v1alpha1",
        "kind": "PackingPlan",
        "metadata": {"name": PLAN},
        "spec": {
            "bindings": [{"pod": "ns/p", "node": "a"}],
            "moves": [{"pod": "ns/v", "fromNode": "a", "toNode": "b"}],
            "evictions": [],
            "unplanned": [],
        },
        "status": {"improves": True},
    }


class FakeClient:
    def __init__(self) -> None:
        self.evictions: list[tuple[str, str, str]] = []
        self.binds: list[tuple[str, str, str, str]] = []
        self.annotations: list[tuple[str, Mapping[str, str | None]]] = []
        self.events: list[dict[str, Any]] = []
        self.eviction_answer = EvictionOutcome(EvictionResult.EVICTED)
        self.bind_error: str | None = None

    def evict(self, namespace: str, name: str, uid: str) -> EvictionOutcome:
        self.evictions.append((namespace, name, uid))
        return self.eviction_answer

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        if self.bind_error:
            raise BindError(self.bind_error)
        self.binds.append((namespace, name, uid, node))

    def annotate_pod(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        self.annotations.append((name, dict(annotations)))

    def create_event(self, namespace: str, body: Mapping[str, Any]) -> None:
        self.events.append(dict(body))

    def reasons(self) -> list[str]:
        return [e["reason"] for e in self.events]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, *, deadline: float = 60.0) -> None:
        self.store = ClusterStore()
        for kind in KINDS:
            self.store.replace(kind, [])
        self.store.replace("Node", [node("a"), node("b")])
        for obj in (
            pod("v", "1", "a"),
            pod("w", "1", "b", owner=None),
            pod("p", "2", owner=None),
        ):
            self.store.apply("Pod", "ADDED", obj)
        self.journal = PlanHistory()
        self.client = FakeClient()
        self.metrics = Metrics(CollectorRegistry())
        self.clock = Clock()
        self.executor = Executor(
            self.store,
            self.journal,
            self.client,
            self.metrics,
            DEFAULT_POLICY,
            deadline_seconds=deadline,
            poll_seconds=0.1,
            event_namespace="default",
            settle_seconds=1.0,
            clock=self.clock,
            now=self.clock,
        )
        self.executor.take_over()  # nothing in the journal: the thread would do it first

    def submit(self, plan: dict[str, Any] | None = None) -> bool:
        document = plan or plan_dict()
        self.journal.add(document)
        return self.executor.submit(document, self.store.snapshot(), triggered=self.clock.now)

    def step(self, seconds: float = 0.0) -> bool:
        """One executor step, ``seconds`` later (the thread is not started: tests step it)."""
        self.clock.now += seconds
        run = self.executor._run  # the run the thread would step
        assert run is not None
        return run.step()

    @property
    def phase(self) -> str:
        found = self.journal.get(PLAN)
        assert found is not None
        return str(found["status"]["phase"])

    @property
    def reason(self) -> str:
        found = self.journal.get(PLAN)
        assert found is not None
        return str(found["status"].get("reason", ""))

    def metric(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return value or 0.0


def successor(h: Harness, *, may_act: Callable[[], bool] = lambda: True) -> Executor:
    """Another process's executor on the same cluster and journal: the first one died (its
    reservations with it) and this one takes over."""
    for reservation in h.store.reservations():
        h.store.release(reservation.plan)
    executor = Executor(
        h.store,
        h.journal,
        h.client,
        h.metrics,
        DEFAULT_POLICY,
        deadline_seconds=60.0,
        poll_seconds=0.1,
        event_namespace="default",
        settle_seconds=1.0,
        clock=h.clock,
        now=h.clock,
        may_act=may_act,
    )
    executor.take_over()
    h.executor = executor
    return executor
