"""What the routes need, read from ``app.state`` (set by ``create_app``): no globals.

``Service`` bundles the long-lived parts; routes take it as ``ServiceDep``, and the extender verbs
take it as their ``VerbDeps``. Tests build an app
around a store they filled themselves and a fake bind client, without monkeypatching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.config import Settings
from scheduler_ext.execution.preemption import PreemptionGate
from scheduler_ext.extender.binding import BindClient
from scheduler_ext.extender.scoring import Rule
from scheduler_ext.metrics import Metrics
from scheduler_ext.planning.history import PlanJournal


@dataclass
class Service:
    settings: Settings
    store: ClusterStore
    metrics: Metrics
    client: BindClient | None
    """None when the service has no API access (tests of the read-only verbs)."""
    plans: PlanJournal
    """The plans API reads them here: PackingPlan objects or the in-memory history (app.py)."""
    preemption: PreemptionGate | None = field(default=None)
    """Enforce mode: kube-scheduler's preemption waits for the planner's verdict."""
    started: bool = False
    """The main app's start-up is complete (uvicorn listens for the verbs right after): until
    then readiness, which the admin listener may already serve, says no."""

    def defers_preemption(self, key: str, uid: str) -> bool:
        return self.preemption is not None and self.preemption.defers(key, uid)

    @property
    def scheduler_names(self) -> tuple[str, ...]:
        return self.settings.planning.scheduler_names

    @property
    def bind_wait_seconds(self) -> float:
        return self.settings.cluster.bind_wait_seconds

    @property
    def prioritize_rule(self) -> Rule:
        return self.settings.prioritize_rule


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]
