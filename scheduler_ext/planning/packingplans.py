"""The plan journal on the PackingPlan custom resource: plans survive restarts and every replica
sees them.

``PackingPlanJournal`` implements ``PlanJournal`` (``planning/history.py``) on the PackingPlans of
the service's namespace (the CRD: ``scheduler_ext/crds/packingplans.yaml``):

- ``add`` creates the object (metadata and spec; the API server ignores ``status`` on create,
  because status is a subresource), then writes its status through the status subresource: the
  plan's own status, ``phase`` (Pending unless set), the ``counts`` the printer columns show, and
  ``truncated`` if the plan had to be bounded to fit in etcd (``planning/object_size.py``). A plan
  too large to store whole is stored ``Aborted`` with the reason, and the caller's copy says so.
- ``set_phase`` merges ``phase`` and ``reason`` (and, for a running plan, the ``execution``
  record another process takes it over from: ``execution/record.py``) into the status
  subresource.
- reads (``list``, ``get``, ``latest``, ``active``) come from the watched state (``PlanStore``),
  never from a GET; each write's answer is put there at once, so a plan reads back before its
  watch event arrives. The plans API's reads (``list``, ``get``, ``latest``) skip a plan whose
  status is not written yet: between the create and the status write a reader would get a plan
  without its solver, counts or diagnostics. ``active`` keeps it, so that a plan whose writer
  died in between is aborted by the next leader (and so gets a status).
- retention: after each ``add``, the plans beyond the newest ``keep`` are deleted once finished
  (Completed, Aborted); an older unfinished one is kept while plans are carried out (a new leader
  resumes or aborts it), and deleted when they are not (``keep_unfinished=False``: dry-run, where
  nothing ever moves a plan on from Pending).

A plan reads back as ``render.plan_to_dict`` wrote it, with ``metadata.creationTimestamp``
(the API server's) and the phase and reason: the plans API serves the same document whichever
journal keeps it. Names must be unique: a name taken already (two replicas in the same second
after a failover) gets a random suffix, in the caller's copy too.
"""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from scheduler_ext.cluster.plan_store import PlanStore
from scheduler_ext.errors import WriteConflict
from scheduler_ext.planning.history import Phase, PlanDict
from scheduler_ext.planning.object_size import bounded

logger = logging.getLogger(__name__)

LISTS = ("bindings", "moves", "evictions", "unplanned")
SERVED_METADATA = ("name", "creationTimestamp")


class PlanObjects(Protocol):
    """The calls the journal makes (``cluster/client.py`` ``KubeClient``)."""

    def create_plan(self, body: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def patch_plan_status(self, name: str, status: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def delete_plan(self, name: str) -> None: ...


def _phase(obj: Mapping[str, Any]) -> Phase:
    value = str((obj.get("status") or {}).get("phase"))
    return Phase(value) if value in set(Phase) else Phase.PENDING


def as_plan(obj: Mapping[str, Any]) -> PlanDict:
    """The PackingPlan object as the plans API serves it: without the server's bookkeeping
    (uid, resourceVersion, managedFields ...) and the printer columns' counts."""
    metadata = obj.get("metadata") or {}
    status = {k: v for k, v in (obj.get("status") or {}).items() if k != "counts"}
    status.setdefault("phase", _phase(obj).value)
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {k: metadata[k] for k in SERVED_METADATA if k in metadata},
        "spec": obj.get("spec") or {},
        "status": status,
    }


def _written(obj: Mapping[str, Any]) -> bool:
    """Whether the plan's status has been written (it is absent between create and status)."""
    return "status" in obj


def _newest_first(obj: Mapping[str, Any]) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or "")


class PackingPlanJournal:
    def __init__(
        self, client: PlanObjects, store: PlanStore, *, keep: int, keep_unfinished: bool = True
    ) -> None:
        self._client = client
        self._store = store
        self._keep = keep
        self._keep_unfinished = keep_unfinished

    @property
    def synced(self) -> bool:
        """The PackingPlans have been listed: until then a plan that exists may not be found."""
        return self._store.synced

    def add(self, plan: PlanDict) -> None:
        status = plan.setdefault("status", {})
        status.setdefault("phase", Phase.PENDING.value)
        stored, too_large = bounded(plan)
        if too_large:
            logger.warning("plan %s: %s", plan["metadata"]["name"], too_large)
            for document in (plan, stored):
                document["status"].update(phase=Phase.ABORTED.value, reason=too_large)
        name = self._create(plan, stored)
        status = dict(stored["status"])
        status["counts"] = {key: len(plan.get("spec", {}).get(key, [])) for key in LISTS}
        self._store.put(self._client.patch_plan_status(name, status))
        self._prune()

    def _create(self, plan: PlanDict, stored: PlanDict) -> str:
        """Create the object, renaming it once if its name is taken; the name it got."""
        for attempt in range(2):
            body = {
                "apiVersion": stored["apiVersion"],
                "kind": stored["kind"],
                "metadata": {"name": stored["metadata"]["name"]},
                "spec": stored.get("spec", {}),
            }
            try:
                self._store.put(self._client.create_plan(body))
                return str(body["metadata"]["name"])
            except WriteConflict:
                if attempt:
                    raise
                name = f"{plan['metadata']['name']}-{secrets.token_hex(2)}"
                logger.info("plan name %s taken; storing it as %s", plan["metadata"]["name"], name)
                plan["metadata"]["name"] = stored["metadata"]["name"] = name
        raise AssertionError("unreachable")  # pragma: no cover

    def _prune(self) -> None:
        ordered = sorted(self._store.plans(), key=_newest_first, reverse=True)
        for obj in ordered[self._keep :]:
            if _phase(obj).finished or not self._keep_unfinished:
                name = str(obj["metadata"]["name"])
                self._client.delete_plan(name)
                self._store.forget(name)
                logger.debug("deleted packingplan %s (retention: %d kept)", name, self._keep)

    def list(self) -> list[PlanDict]:
        written = filter(_written, self._store.plans())
        return [as_plan(o) for o in sorted(written, key=_newest_first, reverse=True)]

    def get(self, name: str) -> PlanDict | None:
        obj = self._store.get(name)
        return as_plan(obj) if obj is not None and _written(obj) else None

    def latest(self) -> PlanDict | None:
        plans = [o for o in self._store.plans() if _written(o)]
        return as_plan(max(plans, key=_newest_first)) if plans else None

    def set_phase(
        self, name: str, phase: Phase, reason: str, *, execution: dict[str, Any] | None = None
    ) -> None:
        if self._store.get(name) is None:
            raise KeyError(name)
        status: dict[str, Any] = {"phase": phase.value, "reason": reason}
        if execution is not None:
            # A merge patch merges objects key by key: null out what the new record lacks.
            old = (self._store.get(name) or {}).get("status", {}).get("execution") or {}
            status["execution"] = {**dict.fromkeys(old), **execution}
        self._store.put(self._client.patch_plan_status(name, status))

    def active(self) -> builtins.list[PlanDict]:
        ordered = sorted(self._store.plans(), key=_newest_first)
        return [as_plan(o) for o in ordered if not _phase(o).finished]
