"""What every plan run of one executor shares, apart from the run's own steps (``run.py``) and
its bookkeeping (``bookkeeping.py``): the writes it makes through the API, the context it works
in, and the exception that ends a run, so that both halves (and ``takeover.py``) name them from
one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from scheduler_ext.cluster.eviction import EvictionOutcome
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.execution.events import EventClient, Recorder
from scheduler_ext.metrics import Metrics
from scheduler_ext.model.movability import EvictionPolicy
from scheduler_ext.planning.history import PlanJournal


class ExecutionClient(EventClient, Protocol):
    """The writes plan execution makes (``cluster/client.py`` ``KubeClient``)."""

    def evict(self, namespace: str, name: str, uid: str) -> EvictionOutcome: ...

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        """BindError with one line on any failure."""

    def annotate_pod(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None: ...


class Abort(Exception):
    """Ends the run at once: ``cause`` labels the metric, ``reason`` is told everywhere."""

    def __init__(self, cause: str, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause
        self.reason = reason


@dataclass(frozen=True)
class RunContext:
    """What every run of one executor shares."""

    store: ClusterStore
    journal: PlanJournal
    client: ExecutionClient
    recorder: Recorder
    metrics: Metrics
    policy: EvictionPolicy
    clock: Callable[[], float]
    deadline_seconds: float
    settle_seconds: float
    now: Callable[[], float] = field(default=time.time)
    """Wall-clock seconds: the deadline a plan keeps in its journal entry, for any process."""


def split_key(key: str) -> tuple[str, str]:
    """``namespace/name`` -> (namespace, name)."""
    namespace, name = key.split("/", 1)
    return namespace, name
