"""Errors that cross layers; each carries a one-line message fit to show an operator as it is."""

from __future__ import annotations


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


class WatchExpired(SchedulerExtError):
    """The API server no longer has the resourceVersion a watch resumed from (410 Gone): relist."""
