"""What an aborted plan counts: a move whose replacement already took its held room landed, the
others were abandoned (``scheduler_ext_moves_total``); the planned pods' rooms are no moves."""

from __future__ import annotations

from tests.unit.execution.harness import Harness, node, plan_dict, pod


def _two_moves(h: Harness) -> None:
    """v and u (one ReplicaSet, 500m each) move off a, to b and to c; p takes a."""
    h.store.apply("Node", "ADDED", node("c"))
    h.store.apply("Pod", "MODIFIED", pod("v", "500m", "a"))
    h.store.apply("Pod", "ADDED", pod("u", "500m", "a"))
    plan = plan_dict()
    plan["spec"]["moves"] = [
        {"pod": "ns/v", "fromNode": "a", "toNode": "b"},
        {"pod": "ns/u", "fromNode": "a", "toNode": "c"},
    ]
    assert h.submit(plan)
    assert not h.step()
    assert not h.step(2.0)
    assert h.phase == "Evicting"
    assert [e[1] for e in h.client.evictions] == ["v", "u"]


def test_an_abort_counts_only_the_moves_whose_replacement_has_not_landed() -> None:
    h = Harness(deadline=30.0)
    _two_moves(h)
    h.store.apply("Pod", "DELETED", pod("v", "500m", "a"))
    h.store.apply("Pod", "DELETED", pod("u", "500m", "a"))
    h.store.apply("Pod", "ADDED", pod("v2", "500m", "b"))  # v's replacement: landed
    assert not h.step()
    assert h.phase == "Binding"
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))  # p runs on a
    assert not h.step()  # u's replacement never comes: the room on c stays held
    assert [r.label for r in h.store.reservations()] == ["replacement of ns/u"]
    assert h.step(31.0)
    assert h.phase == "Aborted"
    assert h.metric("scheduler_ext_moves_total", result="abandoned") == 1
    assert h.metric("scheduler_ext_moves_total", result="landed") == 0


def test_an_abort_before_any_replacement_landed_abandons_every_move() -> None:
    h = Harness(deadline=30.0)
    _two_moves(h)
    h.store.apply("Pod", "DELETED", pod("v", "500m", "a"))
    h.store.apply("Pod", "DELETED", pod("u", "500m", "a"))
    h.store.apply("Pod", "MODIFIED", pod("p", "2", "a", owner=None))  # only p's room is taken
    assert not h.step()
    assert h.step(31.0)
    assert h.phase == "Aborted"
    assert h.metric("scheduler_ext_moves_total", result="abandoned") == 2
