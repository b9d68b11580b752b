"""The plans the service has made, newest first, bounded: what the plans API serves.

Plans are kept as the PackingPlan dictionaries ``render.plan_to_dict`` prints (the same objects
``scheduler-ext plan -o json`` writes), so an operator can compare the service's plans with an
offline run, and the next issue can store them as custom resources unchanged.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

PlanDict = dict[str, Any]


class PlanHistory:
    def __init__(self, limit: int = 50) -> None:
        self._plans: deque[PlanDict] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, plan: PlanDict) -> None:
        with self._lock:
            self._plans.appendleft(plan)

    def list(self) -> list[PlanDict]:
        """Newest first."""
        with self._lock:
            return list(self._plans)

    def get(self, name: str) -> PlanDict | None:
        with self._lock:
            return next((p for p in self._plans if p["metadata"]["name"] == name), None)

    def latest(self) -> PlanDict | None:
        with self._lock:
            return self._plans[0] if self._plans else None
