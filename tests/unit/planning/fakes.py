"""Fakes of the API server's PackingPlan and Lease calls (``cluster/client.py``), in memory.

It does what the real API server does and the journal relies on: a create ignores ``status`` (a
subresource) and sets ``creationTimestamp``, ``uid`` and ``resourceVersion``; a name taken is 409;
the status subresource merges a patch into ``status`` only; every write moves a resourceVersion
that only grows. ``creationTimestamp`` has seconds only, as on the real server.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Mapping
from typing import Any

from scheduler_ext.errors import ClusterReadError, ClusterWriteError, WriteConflict


class FakePlanApi:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.created_bodies: list[dict[str, Any]] = []
        self._versions = itertools.count(100)
        self._seconds = itertools.count(0)
        self.fail_status = False

    def _stamp(self, obj: dict[str, Any]) -> Mapping[str, Any]:
        obj["metadata"]["resourceVersion"] = str(next(self._versions))
        return copy.deepcopy(obj)

    def create_plan(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        name = body["metadata"]["name"]
        self.calls.append(("create", name))
        self.created_bodies.append(copy.deepcopy(dict(body)))
        if name in self.objects:
            raise WriteConflict(f'creating packingplan {name}: 409 Conflict: "{name}" exists')
        obj = copy.deepcopy({k: v for k, v in body.items() if k != "status"})
        second = next(self._seconds)
        obj["metadata"].update(
            uid=f"uid-{name}",
            creationTimestamp=f"2026-12-01T12:{second // 60:02d}:{second % 60:02d}Z",
        )
        self.objects[name] = obj
        return self._stamp(obj)

    def patch_plan_status(self, name: str, status: Mapping[str, Any]) -> Mapping[str, Any]:
        self.calls.append(("status", name))
        if self.fail_status:
            raise ClusterWriteError(f"updating the status of packingplan {name}: 500")
        if name not in self.objects:
            raise ClusterWriteError(f"updating the status of packingplan {name}: 404 Not Found")
        obj = self.objects[name]
        obj.setdefault("status", {}).update(copy.deepcopy(dict(status)))
        return self._stamp(obj)

    def delete_plan(self, name: str) -> None:
        self.calls.append(("delete", name))
        self.objects.pop(name, None)

    def listed(self) -> list[Mapping[str, Any]]:
        """What a list (the informer's first call) answers now."""
        return [copy.deepcopy(o) for o in self.objects.values()]


class FakeLeases:
    """One namespace's Leases; a replace must carry the current resourceVersion (else 409)."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.down = False
        self._versions = itertools.count(1)
        self.lock = threading.Lock()

    def read_lease(self, name: str, timeout: float) -> Mapping[str, Any] | None:
        if self.down:
            raise ClusterReadError("reading lease: connection refused")
        with self.lock:
            lease = self.leases.get(name)
            return copy.deepcopy(lease) if lease is not None else None

    def create_lease(self, body: Mapping[str, Any], timeout: float) -> Mapping[str, Any]:
        if self.down:
            raise ClusterWriteError("creating lease: connection refused")
        with self.lock:
            name = body["metadata"]["name"]
            if name in self.leases:
                raise WriteConflict(f"creating lease {name}: 409 Conflict")
            self.leases[name] = copy.deepcopy(dict(body))
            self.leases[name]["metadata"]["resourceVersion"] = str(next(self._versions))
            return copy.deepcopy(self.leases[name])

    def replace_lease(self, body: Mapping[str, Any], timeout: float) -> Mapping[str, Any]:
        if self.down:
            raise ClusterWriteError("updating lease: connection refused")
        with self.lock:
            name = body["metadata"]["name"]
            current = self.leases[name]
            if body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
                raise WriteConflict(f"updating lease {name}: 409 Conflict")
            self.leases[name] = copy.deepcopy(dict(body))
            self.leases[name]["metadata"]["resourceVersion"] = str(next(self._versions))
            return copy.deepcopy(self.leases[name])

    def holder(self, name: str = "lease") -> str:
        return str(self.leases[name]["spec"]["holderIdentity"])
