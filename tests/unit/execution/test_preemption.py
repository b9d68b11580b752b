"""kube-scheduler's preemption waits for the planner: vetoed while no plan made since the pod's
first preempt call has spoken on it (within the window), vetoed while such a plan places it, let
through once one leaves it unplaced, was aborted, or the window passed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scheduler_ext.execution.preemption import PreemptionGate
from scheduler_ext.planning.history import Phase, PlanHistory


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def plan(name: str, at: float, *, placed: str = "", unplanned: str = "") -> dict[str, Any]:
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"name": name, "creationTimestamp": stamp},
        "spec": {
            "bindings": [{"pod": placed, "node": "a"}] if placed else [],
            "unplanned": [{"pod": unplanned, "reason": "no room"}] if unplanned else [],
        },
        "status": {},
    }


def gate() -> tuple[PreemptionGate, PlanHistory, Clock]:
    journal = PlanHistory()
    clock = Clock()
    return PreemptionGate(journal, window_seconds=15, clock=clock), journal, clock


def test_no_verdict_yet_defers_within_the_window_only() -> None:
    g, journal, clock = gate()
    journal.add(plan("old", clock.now - 60, unplanned="ns/p"))  # before the pod asked: no verdict
    assert g.defers("ns/p", "uid-p")
    clock.now += 14
    assert g.defers("ns/p", "uid-p")
    clock.now += 2
    assert not g.defers("ns/p", "uid-p")


def test_a_plan_that_places_the_pod_keeps_the_veto_until_aborted() -> None:
    g, journal, clock = gate()
    assert g.defers("ns/p", "uid-p")
    clock.now += 5
    journal.add(plan("p1", clock.now, placed="ns/p"))
    clock.now += 60  # past the window: the verdict, not the window, decides
    assert g.defers("ns/p", "uid-p")
    journal.set_phase("p1", Phase.ABORTED, "eviction refused")
    assert not g.defers("ns/p", "uid-p")


def test_a_plan_that_leaves_the_pod_unplaced_lets_preemption_through() -> None:
    g, journal, clock = gate()
    assert g.defers("ns/p", "uid-p")
    clock.now += 3
    journal.add(plan("p1", clock.now, unplanned="ns/p"))
    assert not g.defers("ns/p", "uid-p")
    assert g.defers("ns/q", "uid-q")  # another pod: its own first call
