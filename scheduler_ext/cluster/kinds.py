"""The Kubernetes kinds the project reads, stated once: name, plural, scope, how they are listed.

Snapshot files, the live reader, the service's informers and store all read exactly these kinds;
each of them takes the table from here instead of keeping its own list. ``Kind`` is a ``StrEnum``,
so a member is the kind's name (``Kind.POD == "Pod"``) wherever a plain string is expected (watch
events, log lines, metric labels).

The order of ``KINDS`` is the order in which informers list them and snapshots are built:
PriorityClasses before Pods (a pod without ``spec.priority`` takes its class's value), Nodes
before the Pods bound to them.

``Kind.PACKING_PLAN`` is the service's own custom resource (``crds/packingplans.yaml``): watched
by the service (so every replica sees every plan), but not part of ``KINDS``: the planner never
reads it, snapshots never hold it, and the cluster state's readiness does not wait for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEFAULT_NAMESPACE = "default"
"""Where a namespaced object without ``metadata.namespace`` lives (the API server's default)."""


class Kind(StrEnum):
    PRIORITY_CLASS = "PriorityClass"
    NAMESPACE = "Namespace"
    NODE = "Node"
    POD_DISRUPTION_BUDGET = "PodDisruptionBudget"
    POD = "Pod"
    PACKING_PLAN = "PackingPlan"

    @property
    def plural(self) -> str:
        return _TABLE[self].plural

    @property
    def namespaced(self) -> bool:
        return _TABLE[self].namespaced

    @property
    def api(self) -> str:
        return _TABLE[self].api

    @property
    def list_call(self) -> str:
        return _TABLE[self].list_call


@dataclass(frozen=True)
class _Facts:
    plural: str
    """Resource name in URLs and in ``kubectl get``."""
    namespaced: bool
    api: str
    """The Kubernetes client's API class that lists it."""
    list_call: str
    """That class's method listing (and, with ``watch=True``, watching) it across namespaces."""


_TABLE: Mapping[Kind, _Facts] = {
    Kind.PRIORITY_CLASS: _Facts("priorityclasses", False, "SchedulingV1Api", "list_priority_class"),
    Kind.NAMESPACE: _Facts("namespaces", False, "CoreV1Api", "list_namespace"),
    Kind.NODE: _Facts("nodes", False, "CoreV1Api", "list_node"),
    Kind.POD_DISRUPTION_BUDGET: _Facts(
        "poddisruptionbudgets",
        True,
        "PolicyV1Api",
        "list_pod_disruption_budget_for_all_namespaces",
    ),
    Kind.POD: _Facts("pods", True, "CoreV1Api", "list_pod_for_all_namespaces"),
    # Listed in the service's own namespace only (cluster/client.py binds the arguments).
    Kind.PACKING_PLAN: _Facts(
        "packingplans", True, "CustomObjectsApi", "list_namespaced_custom_object"
    ),
}

KINDS: tuple[Kind, ...] = tuple(kind for kind in Kind if kind is not Kind.PACKING_PLAN)
"""Every kind the planner reads, in listing order."""

PLAN_GROUP = "scheduler-ext.io"
PLAN_VERSION = "v1alpha1"
PLAN_API_VERSION = f"{PLAN_GROUP}/{PLAN_VERSION}"
"""The PackingPlan resource's API group and version (the CRD in ``crds/`` states them too)."""


def object_key(kind: Kind | str, obj: Mapping[str, Any]) -> str | None:
    """``namespace/name`` for namespaced kinds, ``name`` otherwise; None without a string name."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        return None
    if Kind(kind).namespaced:
        return f"{meta.get('namespace') or DEFAULT_NAMESPACE}/{meta['name']}"
    return str(meta["name"])
