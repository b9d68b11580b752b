"""A plan bounded to what one PackingPlan object may hold in etcd.

etcd refuses a request over 1.5 MiB (``--max-request-bytes``), and the stored object carries its
metadata and managedFields too and grows with each status update; so a plan's JSON is kept under
``MAX_PLAN_BYTES``. What gives way, in this order:

1. the informational lists, from their end: ``spec.unplanned`` (the pods left pending and why)
   and ``status.diagnostics.immovable`` (the pods kept in place and why; on a large cluster the
   longest part of a plan). The plan stays whole as a plan and can be carried out.
2. only if the plan is still too large, its actions: ``spec.bindings``, ``spec.moves``,
   ``spec.evictions`` and the landing order. A plan that is not whole must never be carried
   out, so such a plan is stored ``Aborted``, with the reason.

Each list that lost entries is counted in ``status.truncated`` (list -> entries left out). At
about 100 bytes per move, the actions alone reach the bound only past some 9,000 moves.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from scheduler_ext.planning.history import PlanDict

MAX_PLAN_BYTES = 1_000_000

INFORMATIONAL = (("spec", "unplanned"), ("status", "diagnostics", "immovable"))
ACTIONS = (
    ("spec", "moves"),
    ("spec", "evictions"),
    ("spec", "bindings"),
    ("status", "diagnostics", "landingOrder", "pods"),
)


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


def _at(plan: PlanDict, path: tuple[str, ...]) -> Any:
    value: Any = plan
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _trim(container: Any, excess: int) -> tuple[int, int]:
    """Drop entries of a list or dict from its end until ``excess`` bytes are saved (or it is
    empty); (entries dropped, bytes saved)."""
    dropped = saved = 0
    if isinstance(container, list):
        while container and saved < excess:
            saved += _size(container.pop()) + 1
            dropped += 1
    elif isinstance(container, dict):
        for key in reversed(list(container)):
            if saved >= excess:
                break
            saved += _size(key) + _size(container.pop(key)) + 2
            dropped += 1
    return dropped, saved


def bounded(plan: PlanDict, limit: int = MAX_PLAN_BYTES) -> tuple[PlanDict, str]:
    """``plan`` if it fits in ``limit`` bytes, else a trimmed copy (``status.truncated`` says
    what was left out); and, when the actions had to be trimmed, why the plan cannot be carried
    out (else "")."""
    size = _size(plan)
    if size <= limit:
        return plan, ""
    trimmed = copy.deepcopy(plan)
    truncated: dict[str, int] = {}
    reason = ""
    for paths, essential in ((INFORMATIONAL, False), (ACTIONS, True)):
        for path in paths:
            if size <= limit:
                break
            dropped, saved = _trim(_at(trimmed, path), size - limit)
            if dropped:
                truncated[".".join(path)] = dropped
                size -= saved
                if essential:
                    reason = (
                        f"the plan is too large to store whole ({_size(plan)} bytes of JSON, "
                        f"at most {limit}): not carried out"
                    )
    trimmed.setdefault("status", {})["truncated"] = truncated
    return trimmed, reason
