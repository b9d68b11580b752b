"""The watched objects: what the informers apply, converted once, and the snapshot built from them.

Every object of a watched kind (``cluster/kinds.py``) is converted to its domain value when it
arrives, by the same converter ``scheduler-ext plan`` uses for snapshot files, and only the value is
kept: the planner's snapshot is assembled from the values, not converted again. An object the
converter rejects is logged and left out, so one odd object never stops the snapshot.

One dependency crosses objects: a pod without ``spec.priority`` (the Priority admission plugin
sets it, so only hand-made objects lack it) takes its PriorityClass's value, so such pods keep
their raw object and are converted again when a PriorityClass changes.

A change is reported to the caller as ``(old value, new value)``; a value equal to the stored one
(a heartbeat, status noise the converter drops) is no change, which is what keeps the store's
generation still on a quiet cluster. Not thread-safe on its own: ``ClusterStore`` holds its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from scheduler_ext.cluster import convert
from scheduler_ext.cluster.kinds import KINDS, Kind
from scheduler_ext.domain import (
    Cluster,
    DisruptionBudget,
    Namespace,
    Node,
    Pod,
    PriorityClass,
)
from scheduler_ext.errors import SnapshotError

logger = logging.getLogger(__name__)

Raw = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class PodEntry:
    """A pod as the store keeps it: the value, its demand on a node, and the trigger flag."""

    pod: Pod
    demand: dict[str, int]
    unschedulable: bool


Change = tuple[object | None, object | None]
"""(the value before, the value after); None for absent."""


def is_unschedulable(obj: Raw) -> bool:
    """kube-scheduler gave up on it: ``PodScheduled=False`` with reason ``Unschedulable``."""
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    for condition in conditions if isinstance(conditions, list) else ():
        if isinstance(condition, Mapping) and condition.get("type") == "PodScheduled":
            return condition.get("status") == "False" and condition.get("reason") == "Unschedulable"
    return False


class WatchedObjects:
    def __init__(self) -> None:
        self._values: dict[Kind, dict[str, object]] = {kind: {} for kind in KINDS}
        self._priorities: dict[str, PriorityClass] = {}
        self._classless: dict[str, Raw] = {}
        """Raw pods without ``spec.priority``: converted again when a PriorityClass changes."""

    def keys(self, kind: Kind) -> list[str]:
        return list(self._values[kind])

    def value(self, kind: Kind, key: str) -> object | None:
        return self._values[kind].get(key)

    def values(self, kind: Kind) -> list[object]:
        return list(self._values[kind].values())

    def upsert(self, kind: Kind, key: str, obj: Raw) -> Change | None:
        """Convert and keep ``obj``; the change, or None when nothing the planner reads changed."""
        try:
            value = self._convert(kind, obj)
        except SnapshotError as exc:
            logger.warning("ignoring %s: %s", kind, exc)
            return self.delete(kind, key)
        if value is None:  # a finished pod holds nothing
            return self.delete(kind, key)
        if kind == Kind.POD:
            self._remember_classless(key, obj)
        previous = self._values[kind].get(key)
        if previous == value:
            return None
        self._values[kind][key] = value
        if kind == Kind.PRIORITY_CLASS:
            assert isinstance(value, PriorityClass)
            self._priorities[key] = value
        return previous, value

    def delete(self, kind: Kind, key: str) -> Change | None:
        if kind == Kind.POD:
            self._classless.pop(key, None)
        previous = self._values[kind].pop(key, None)
        if previous is None:
            return None
        if kind == Kind.PRIORITY_CLASS:
            self._priorities.pop(key, None)
        return previous, None

    def reconvert_classless(self) -> dict[str, Change]:
        """After a PriorityClass changed: the pods whose priority comes from a class, again."""
        changes = {}
        for key, obj in list(self._classless.items()):
            change = self.upsert(Kind.POD, key, obj)
            if change is not None:
                changes[key] = change
        return changes

    def _remember_classless(self, key: str, obj: Raw) -> None:
        spec = obj.get("spec")
        if isinstance(spec, Mapping) and spec.get("priority") is None:
            self._classless[key] = obj
        else:
            self._classless.pop(key, None)

    def _convert(self, kind: Kind, obj: Raw) -> object:
        if kind == Kind.POD:
            pod = convert.pod_from(obj, self._priorities)
            if pod is None:
                return None
            return PodEntry(pod, pod.demand(), is_unschedulable(obj))
        if kind == Kind.NODE:
            return convert.node_from(obj)
        if kind == Kind.POD_DISRUPTION_BUDGET:
            return convert.budget_from(obj)
        if kind == Kind.PRIORITY_CLASS:
            return convert.priority_class_from(obj)
        return convert.namespace_from(obj)

    def cluster(self, bound: Mapping[str, str]) -> Cluster:
        """The cluster as the planner reads it, with the pods of ``bound`` (key -> node) bound."""
        nodes = self._of(Kind.NODE, Node)
        if not nodes:
            raise SnapshotError("the snapshot has no nodes")
        pods = []
        for key, entry in self._values[Kind.POD].items():
            assert isinstance(entry, PodEntry)
            node = bound.get(key)
            pods.append(entry.pod if node is None else replace(entry.pod, node_name=node))
        return Cluster(
            nodes=nodes,
            pods=tuple(pods),
            budgets=self._of(Kind.POD_DISRUPTION_BUDGET, DisruptionBudget),
            priority_classes=self._of(Kind.PRIORITY_CLASS, PriorityClass),
            namespaces=self._of(Kind.NAMESPACE, Namespace),
        )

    def _of(self, kind: Kind, cls: type[T]) -> tuple[T, ...]:
        """The values of ``kind`` (all of type ``cls``, as ``_convert`` made them)."""
        return cast(tuple[T, ...], tuple(self._values[kind].values()))
