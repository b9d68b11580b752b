"""Events on the pods a plan involves and on the plan, as kube-scheduler records its own.

events.k8s.io/v1 Events (``../shared/docs/execution-notes.md`` section 7): ``eventTime`` is sent
preformatted (six fractional digits and ``Z``: the client's own datetime serialization drops the
fraction at microsecond 0, which the API server rejects), ``reportingController`` is
``scheduler-ext.io/scheduler-ext``. Recording is best effort: an Event that cannot be written is
logged and never stops or fails a plan.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from scheduler_ext.errors import SchedulerExtError
from scheduler_ext.execution.targets import Placement, Victim
from scheduler_ext.planning.render import API_VERSION, KIND

logger = logging.getLogger(__name__)

CONTROLLER = "scheduler-ext.io/scheduler-ext"
MAX_NOTE = 1024


class EventClient(Protocol):
    def create_event(self, namespace: str, body: Mapping[str, Any]) -> None:
        """Create one events.k8s.io/v1 Event; ExecutionError on failure."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pod_ref(key: str, uid: str) -> dict[str, str]:
    namespace, name = key.split("/", 1)
    return {"apiVersion": "v1", "kind": "Pod", "namespace": namespace, "name": name, "uid": uid}


class Recorder:
    """Writes the Events of one service instance."""

    def __init__(self, client: EventClient | None, plan_namespace: str) -> None:
        self._client = client
        self._plan_namespace = plan_namespace
        self._instance = f"scheduler-ext-{socket.gethostname()}"[:128]

    def _emit(
        self,
        namespace: str,
        regarding: Mapping[str, str],
        reason: str,
        action: str,
        note: str,
        *,
        warning: bool = False,
        related: Mapping[str, str] | None = None,
    ) -> None:
        if self._client is None:
            return
        body: dict[str, Any] = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {
                "name": f"{regarding['name']}.{secrets.token_hex(8)}"[:253],
                "namespace": namespace,
            },
            "eventTime": _now(),
            "type": "Warning" if warning else "Normal",
            "reason": reason,
            "action": action,
            "note": note[:MAX_NOTE],
            "regarding": dict(regarding),
            "reportingController": CONTROLLER,
            "reportingInstance": self._instance,
        }
        if related is not None:
            body["related"] = dict(related)
        try:
            self._client.create_event(namespace, body)
        except SchedulerExtError as exc:
            logger.info("event %s on %s not recorded: %s", reason, regarding["name"], exc)

    def on_pod(self, placement: Placement, reason: str, action: str, note: str, **kw: Any) -> None:
        namespace = placement.key.split("/", 1)[0]
        self._emit(namespace, _pod_ref(placement.key, placement.uid), reason, action, note, **kw)

    def on_victim(self, victim: Victim, for_pod: Placement, note: str) -> None:
        namespace = victim.key.split("/", 1)[0]
        related = _pod_ref(for_pod.key, for_pod.uid)
        reason = "Moved" if victim.to_node is not None else "Evicted"
        self._emit(
            namespace, _pod_ref(victim.key, victim.uid), reason, "Evicting", note, related=related
        )

    def on_plan(self, plan: str, reason: str, action: str, note: str, **kw: Any) -> None:
        regarding = {"apiVersion": API_VERSION, "kind": KIND, "name": plan}
        self._emit(self._plan_namespace, regarding, reason, action, note, **kw)
