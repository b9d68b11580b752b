"""The plans the service has made, newest first: what the plans API serves and execution moves on.

Plans are kept as the PackingPlan dictionaries ``render.plan_to_dict`` prints (the same objects
``scheduler-ext plan -o json`` writes), so an operator can compare the service's plans with an
offline run, and the custom-resource journal stores them unchanged.

``PlanJournal`` is the one interface the planning loop, the executor and the plans API use;
``PlanHistory`` is its in-memory form (bounded; dry-run and unit tests). A plan's phase lives in
``status.phase`` and ``status.reason``, as on the PackingPlan custom resource.
"""

from __future__ import annotations

import builtins
import threading
from collections import deque
from enum import StrEnum
from typing import Any, Protocol

PlanDict = dict[str, Any]


class Phase(StrEnum):
    """A plan's phase, in the order execution moves through them (``Aborted`` from any)."""

    PENDING = "Pending"
    RESERVING = "Reserving"
    EVICTING = "Evicting"
    BINDING = "Binding"
    COMPLETED = "Completed"
    ABORTED = "Aborted"

    @property
    def finished(self) -> bool:
        return self in (Phase.COMPLETED, Phase.ABORTED)


class PlanJournal(Protocol):
    """Where plans and their phases are kept."""

    def add(self, plan: PlanDict) -> None:
        """Keep a new plan (its ``status.phase`` is set to Pending if it has none)."""

    def list(self) -> list[PlanDict]:
        """Newest first."""

    def get(self, name: str) -> PlanDict | None: ...

    def latest(self) -> PlanDict | None: ...

    def set_phase(
        self, name: str, phase: Phase, reason: str, *, execution: dict[str, Any] | None = None
    ) -> None:
        """Move a kept plan to ``phase``, saying why (KeyError if no such plan is kept); with
        ``execution``, also keep what its run needs to be taken over (``status.execution``)."""

    def active(self) -> builtins.list[PlanDict]:
        """The kept plans not yet Completed or Aborted, oldest first (what a new leader resumes)."""

    @property
    def synced(self) -> bool:
        """Every kept plan can be read (readiness waits for it: the plans API answers from it)."""


class PlanHistory:
    """The in-memory journal: the newest ``limit`` plans."""

    def __init__(self, limit: int = 50) -> None:
        self._plans: deque[PlanDict] = deque(maxlen=limit)
        self._lock = threading.Lock()

    @property
    def synced(self) -> bool:
        return True  # nothing to list: the plans are this process's own

    def add(self, plan: PlanDict) -> None:
        plan.setdefault("status", {}).setdefault("phase", Phase.PENDING.value)
        with self._lock:
            self._plans.appendleft(plan)

    def list(self) -> list[PlanDict]:
        with self._lock:
            return list(self._plans)

    def get(self, name: str) -> PlanDict | None:
        with self._lock:
            return next((p for p in self._plans if p["metadata"]["name"] == name), None)

    def latest(self) -> PlanDict | None:
        with self._lock:
            return self._plans[0] if self._plans else None

    def set_phase(
        self, name: str, phase: Phase, reason: str, *, execution: dict[str, Any] | None = None
    ) -> None:
        with self._lock:
            plan = next((p for p in self._plans if p["metadata"]["name"] == name), None)
            if plan is None:
                raise KeyError(name)
            plan["status"]["phase"] = phase.value
            plan["status"]["reason"] = reason
            if execution is not None:
                plan["status"]["execution"] = execution

    def active(self) -> builtins.list[PlanDict]:
        with self._lock:
            return [p for p in reversed(self._plans) if not Phase(p["status"]["phase"]).finished]
