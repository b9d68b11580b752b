"""What the executed protocol counts after a plan: pods lost, off plan, budget violations; on
hand-made pod lists (the live run is tests/e2e/test_e2e_paper.py)."""

from __future__ import annotations

from benchmarks.e2e_paper_observe import SeenPod, account, expected_layout


def _pod(
    name: str, owner: str, node: str, *, running: bool = True, guarded: bool = False
) -> SeenPod:
    return SeenPod(name, f"uid-{name}", owner, node, running and bool(node), 1, guarded)


BEFORE = [
    _pod("a-1", "a", "n1"),
    _pod("b-1", "b", "n1", guarded=True),
    _pod("c-1", "c", "n2"),
    _pod("d-1", "d", ""),  # pending
]
SPEC = {
    "moves": [{"pod": "ns/a-1", "fromNode": "n1", "toNode": "n2"}],
    "evictions": [{"pod": "ns/c-1", "node": "n2"}],
    "bindings": [{"pod": "ns/d-1", "node": "n1"}],
}


def test_the_expected_layout_follows_moves_evictions_and_bindings() -> None:
    expected = expected_layout(BEFORE, SPEC)
    assert +expected == {("a", "n2"): 1, ("b", "n1"): 1, ("d", "n1"): 1}


def test_a_plan_carried_out_as_planned_loses_nothing() -> None:
    after = [_pod("a-2", "a", "n2"), BEFORE[1], _pod("c-2", "c", ""), _pod("d-1", "d", "n1")]
    outcome = account(BEFORE, after, SPEC, completed=True)
    assert (outcome.lost, outcome.off_plan, outcome.pdb_violations, outcome.guarded) == (0, 0, 0, 1)


def test_a_moved_pod_not_back_is_lost_and_a_misplaced_one_off_plan() -> None:
    after = [_pod("a-2", "a", ""), BEFORE[1], _pod("d-1", "d", "n2")]  # a's replacement Pending
    outcome = account(BEFORE, after, SPEC, completed=True)
    assert outcome.lost == 1
    assert outcome.off_plan == 2  # a not on n2, d not on n1


def test_a_guarded_pod_gone_is_a_budget_violation() -> None:
    after = [_pod("a-1", "a", "n1"), _pod("b-2", "b", "n1"), BEFORE[2], BEFORE[3]]
    outcome = account(BEFORE, after, {}, completed=False)
    assert (outcome.lost, outcome.pdb_violations) == (0, 1)
