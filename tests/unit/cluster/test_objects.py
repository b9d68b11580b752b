"""Watched objects: converted once, no change reported for status noise, and pods without
``spec.priority`` follow their PriorityClass when it arrives after them."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.kinds import Kind
from scheduler_ext.cluster.objects import PodEntry, WatchedObjects
from scheduler_ext.errors import SnapshotError
from testkit.builders import api_pod


def raw_pod(name: str, **spec: Any) -> dict[str, Any]:
    return api_pod(name, namespace="ns", uid=f"uid-{name}", spec=spec)


def priority_of(objects: WatchedObjects, key: str) -> int:
    entry = objects.value(Kind.POD, key)
    assert isinstance(entry, PodEntry)
    return entry.pod.priority


def test_a_class_that_arrives_after_its_pods_sets_their_priority() -> None:
    objects = WatchedObjects()
    objects.upsert(Kind.POD, "ns/a", raw_pod("a", priorityClassName="high"))
    objects.upsert(Kind.POD, "ns/b", raw_pod("b", priorityClassName="high", priority=5))
    assert priority_of(objects, "ns/a") == 0
    objects.upsert(Kind.PRIORITY_CLASS, "high", {"metadata": {"name": "high"}, "value": 1000})
    changes = objects.reconvert_classless()
    assert set(changes) == {"ns/a"}  # b carries its own spec.priority
    assert priority_of(objects, "ns/a") == 1000
    assert priority_of(objects, "ns/b") == 5


def test_equal_values_are_no_change_and_rejected_objects_are_dropped() -> None:
    objects = WatchedObjects()
    assert objects.upsert(Kind.POD, "ns/a", raw_pod("a")) is not None
    noisy = raw_pod("a")
    noisy["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert objects.upsert(Kind.POD, "ns/a", noisy) is None
    bad = raw_pod("a")
    bad["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1x"}}
    change = objects.upsert(Kind.POD, "ns/a", bad)  # logged, and the old value is gone
    assert change is not None
    assert change[1] is None
    assert objects.value(Kind.POD, "ns/a") is None


def test_the_snapshot_needs_a_node() -> None:
    with pytest.raises(SnapshotError, match="no nodes"):
        WatchedObjects().cluster({})
