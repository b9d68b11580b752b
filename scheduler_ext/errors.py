"""Errors that cross layers; each carries a one-line message fit to show an operator as it is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol


class SchedulerExtError(Exception):
    """Base class: an expected failure with a message for humans, never a traceback."""


class SnapshotError(SchedulerExtError):
    """A snapshot file or object is malformed or inconsistent.

    The message names the file or object and the field, e.g.
    ``pods/default/web-1: spec.containers[0].resources.requests.cpu: invalid quantity "1x"``.
    """


class ClusterReadError(SchedulerExtError):
    """The live cluster could not be read (no kubeconfig, API unreachable, forbidden)."""


class SolverError(SchedulerExtError):
    """A solver failed or crashed; the planner falls back to what it already had."""


class BindError(SchedulerExtError):
    """The API server refused or failed a Binding (conflict, pod gone, unreachable)."""


class ClusterWriteError(SchedulerExtError):
    """The API server refused or failed a write to one of the service's own objects (its
    PackingPlans, its Lease)."""


class WriteConflict(ClusterWriteError):
    """409: the object already exists, or changed since it was read (a lost compare-and-swap)."""


class ExecutionError(SchedulerExtError):
    """A write of plan execution (an annotation, an Event) failed."""


class WatchExpired(SchedulerExtError):
    """The API server no longer has the resourceVersion a watch resumed from (410 Gone): relist."""


# --- validation errors, in one line each -------------------------------------------------------


class _HasErrors(Protocol):
    def errors(self) -> Sequence[Any]: ...


MAX_ERRORS_SHOWN = 5


def _location(parts: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in parts)


def validation_lines(
    error: _HasErrors,
    *,
    locate: Callable[[Sequence[str | int]], str] = _location,
    root: str = "body",
    show_input: bool = False,
) -> list[str]:
    """One line per problem of a pydantic (or FastAPI request) validation error: where, as
    ``locate`` spells the location (dotted by default; ``root`` for the whole input), and why;
    with ``show_input``, the value given. The one formatter of such errors: HTTP bodies and
    settings both use it."""
    lines = []
    for item in error.errors():
        location = [part for part in item.get("loc", ()) if part != "body"]
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "json_invalid":
            ctx = item.get("ctx") or {}
            where = f" at character {location[0]}" if location else ""
            lines.append(f"invalid JSON{where}: {ctx.get('error', message)}")
            continue
        if not location and item.get("type") == "missing":
            message = "a JSON object is required"
        value = item.get("input")
        scalar = show_input and location and not isinstance(value, Mapping)
        shown = f" (got {value!r})" if scalar else ""
        lines.append(f"{locate(location) if location else root}: {message}{shown}")
    return [" ".join(line.split()) for line in lines]


def describe_validation(error: _HasErrors) -> str:
    """The first ``MAX_ERRORS_SHOWN`` problems in one line."""
    lines = validation_lines(error)
    shown = lines[:MAX_ERRORS_SHOWN]
    if len(lines) > MAX_ERRORS_SHOWN:
        shown.append(f"and {len(lines) - MAX_ERRORS_SHOWN} more")
    return "; ".join(shown) or "invalid request body"
