"""Kubernetes JSON objects (as ``kubectl get -o json`` prints them) turned into domain values.

The planner must see what kube-scheduler sees, so conversion reproduces the API server's
defaulting and the scheduler's arithmetic where they matter: container requests default to limits,
a pod's effective request is ``k8s.io/component-helpers/resource.PodRequests`` (init containers,
restartable sidecars, pod-level resources, overhead), and priority falls back to the priority
class and then to the global default class as the Priority admission plugin does.

Input is untrusted: every malformed field raises ``SnapshotError`` with one line naming the object
and the field path; no ``KeyError`` or ``TypeError`` escapes.

Rooms, by concern:

- ``reading``: the typed reader behind those one-line errors, and the shared bounded cache;
- ``requests``: effective requests (and host ports) of a pod's containers;
- ``selectors``: label selectors, node selector terms, tolerations;
- ``pods``: ``pod_from`` (priority, owner, volumes, anti-affinity, what the planner leaves alone);
- ``objects``: ``node_from``, ``budget_from``, ``priority_class_from``, ``namespace_from``.

Snapshot files, the live reader and the service's store all convert through these functions.
"""

from __future__ import annotations

from scheduler_ext.cluster.convert.objects import (
    budget_from,
    namespace_from,
    node_from,
    priority_class_from,
)
from scheduler_ext.cluster.convert.pods import pod_from

__all__ = ["budget_from", "namespace_from", "node_from", "pod_from", "priority_class_from"]
