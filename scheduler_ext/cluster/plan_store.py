"""The service's PackingPlans as the watch shows them: what every replica's plans API reads.

An informer (``cluster/informer.py``) keeps this in step with the PackingPlans of the service's
namespace, so every replica sees every plan, and a restarted service sees the plans made before it
started, without a GET per request. It is kept apart from ``ClusterStore``: a plan is no input of
the planner, so it must not move the store's generation (the planning loop would plan again after
each plan it records), and the cluster state's readiness must not wait for it.

The journal writing the plans (``planning/packingplans.py``) also puts each object the API server
answered a write with (``put``), so that a plan reads back at once, before its watch event arrives.
An event older than what is kept (a smaller resourceVersion: the API server's versions are etcd
revisions, which only grow) is then not allowed to undo it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

Raw = Mapping[str, Any]


def _name(obj: Raw) -> str | None:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) else None


def _version(obj: Raw) -> int | None:
    meta = obj.get("metadata")
    version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
    try:
        return int(version) if version is not None else None
    except (TypeError, ValueError):
        return None


class PlanStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._plans: dict[str, Raw] = {}
        self._synced = False

    # --- fed by the informer ---------------------------------------------------------------------

    def note_contact(self, kind: str) -> None:
        """The informer heard from the API server (nothing to record: plans have no staleness)."""

    def replace(self, kind: str, items: Iterable[Raw]) -> None:
        """A full list: the plans now (a consistent read, newer than any write before it)."""
        plans = {name: obj for obj in items if (name := _name(obj)) is not None}
        with self._changed:
            self._plans = plans
            self._synced = True
            self._changed.notify_all()

    def apply(self, kind: str, event: str, obj: Raw) -> None:
        if event == "DELETED":
            name = _name(obj)
            with self._changed:
                if name is not None:
                    self._plans.pop(name, None)
                    self._changed.notify_all()
            return
        self.put(obj)

    # --- fed by the journal's writes -------------------------------------------------------------

    def put(self, obj: Raw) -> None:
        """Keep ``obj`` unless a newer version of it is kept already."""
        name = _name(obj)
        if name is None:
            return
        with self._changed:
            kept = self._plans.get(name)
            old, new = (_version(kept), _version(obj)) if kept is not None else (None, None)
            if old is not None and new is not None and new < old:
                return
            self._plans[name] = obj
            self._changed.notify_all()

    def forget(self, name: str) -> None:
        with self._changed:
            self._plans.pop(name, None)
            self._changed.notify_all()

    # --- read by the journal ---------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        with self._lock:
            return self._synced

    def wait_synced(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._synced, timeout)

    def plans(self) -> list[Raw]:
        with self._lock:
            return list(self._plans.values())

    def get(self, name: str) -> Raw | None:
        with self._lock:
            return self._plans.get(name)
