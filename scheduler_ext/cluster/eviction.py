"""What the Eviction API answered, in the four outcomes plan execution acts on.

``policy/v1`` Eviction (``pkg/registry/core/pod/storage/eviction.go``, summed up in
``../shared/docs/execution-notes.md`` section 4) answers in ways a plain status code does not
tell apart: a pod under two PodDisruptionBudgets gets HTTP 201 with a ``Failure`` Status of code
500 in the body, and the Python client raises only on non-2xx. So the answer is read here, once,
from the status and the raw body:

- ``evicted``: 2xx with no Failure in the body; the pod is being deleted.
- ``gone``: 404 (no such pod) or 409 (the UID precondition failed: the pod of that name is
  another one): the victim is not there any more.
- ``blocked``: 429, a PodDisruptionBudget allows no disruption now (or its status is stale):
  never retried by force; the plan aborts.
- ``refused``: anything else (403, the two-budgets 500, 5xx, a transport failure): the plan aborts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum


class EvictionResult(StrEnum):
    EVICTED = "evicted"
    GONE = "gone"
    BLOCKED = "blocked"
    REFUSED = "refused"


@dataclass(frozen=True)
class EvictionOutcome:
    result: EvictionResult
    detail: str = ""
    """The API server's message, in one line."""


def _message(body: bytes | str | None) -> tuple[str, str, int | None]:
    """(status, message, code) of a Status body; empty strings when it is none."""
    if not body:
        return "", "", None
    try:
        decoded = json.loads(body)
    except (TypeError, ValueError):
        return "", " ".join(str(body)[:300].split()), None
    if not isinstance(decoded, dict) or decoded.get("kind") != "Status":
        return "", "", None
    code = decoded.get("code")
    message = " ".join(str(decoded.get("message") or "").split())
    return str(decoded.get("status") or ""), message, code if isinstance(code, int) else None


def classify(status: int, body: bytes | str | None) -> EvictionOutcome:
    """The outcome of an eviction answered with HTTP ``status`` and ``body``."""
    state, message, code = _message(body)
    if 200 <= status < 300:
        if state == "Failure" or (code is not None and code >= 400):
            return EvictionOutcome(EvictionResult.REFUSED, f"{code}: {message}")
        return EvictionOutcome(EvictionResult.EVICTED)
    detail = f"{status}: {message}" if message else str(status)
    if status in (404, 409):
        return EvictionOutcome(EvictionResult.GONE, detail)
    if status == 429:
        return EvictionOutcome(EvictionResult.BLOCKED, detail)
    return EvictionOutcome(EvictionResult.REFUSED, detail)
