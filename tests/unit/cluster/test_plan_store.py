"""The watched PackingPlans: a relist replaces them, events and writes keep the newest version."""

from __future__ import annotations

from typing import Any

from scheduler_ext.cluster.plan_store import PlanStore


def _plan(name: str, version: str, phase: str = "Pending") -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": version}, "status": {"phase": phase}}


def test_a_relist_replaces_and_marks_synced() -> None:
    store = PlanStore()
    assert not store.synced
    store.put(_plan("a", "5"))
    store.replace("PackingPlan", [_plan("b", "7")])
    assert store.synced
    assert [p["metadata"]["name"] for p in store.plans()] == ["b"]


def test_an_older_version_never_replaces_a_newer_one() -> None:
    store = PlanStore()
    store.put(_plan("a", "12", "Reserving"))
    store.apply("PackingPlan", "MODIFIED", _plan("a", "11", "Pending"))
    assert (store.get("a") or {})["status"]["phase"] == "Reserving"
    store.apply("PackingPlan", "MODIFIED", _plan("a", "13", "Evicting"))
    assert (store.get("a") or {})["status"]["phase"] == "Evicting"
    store.apply("PackingPlan", "DELETED", _plan("a", "14"))
    assert store.get("a") is None


def test_objects_without_a_name_are_ignored() -> None:
    store = PlanStore()
    store.apply("PackingPlan", "ADDED", {"metadata": {}})
    store.replace("PackingPlan", [{"kind": "PackingPlan"}])
    assert store.plans() == []
