"""The in-memory plan journal: newest first, phases kept on the plan, active plans oldest first."""

from __future__ import annotations

import pytest

from scheduler_ext.planning.history import Phase, PlanDict, PlanHistory


def _plan(name: str) -> PlanDict:
    return {"metadata": {"name": name}, "spec": {}, "status": {}}


def test_phases_and_active_plans() -> None:
    journal = PlanHistory(limit=3)
    for name in ("a", "b", "c"):
        journal.add(_plan(name))
    assert [p["metadata"]["name"] for p in journal.list()] == ["c", "b", "a"]
    assert (journal.get("b") or {})["status"]["phase"] == "Pending"
    journal.set_phase("a", Phase.COMPLETED, "every planned pod runs")
    journal.set_phase("c", Phase.EVICTING, "2 evictions asked")
    assert [p["metadata"]["name"] for p in journal.active()] == ["b", "c"]
    assert journal.get("c") == {
        "metadata": {"name": "c"},
        "spec": {},
        "status": {"phase": "Evicting", "reason": "2 evictions asked"},
    }
    with pytest.raises(KeyError):
        journal.set_phase("missing", Phase.ABORTED, "gone")


def test_the_oldest_plan_falls_out() -> None:
    journal = PlanHistory(limit=2)
    for name in ("a", "b", "c"):
        journal.add(_plan(name))
    assert journal.get("a") is None
    assert journal.latest() == _plan("c") | {"status": {"phase": "Pending"}}
