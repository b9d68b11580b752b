"""The paper's classes and the report's cells, on hand-made result rows."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.e2e_paper_report import classify, report


def _row(before: list[int], after: list[int], *, optimal: bool, pending: int = 1) -> dict[str, Any]:
    return {
        "instance": "i", "nodes": 4, "ppn": 4, "k": 4, "budget": 1.0, "plan_wall": 0.5,
        "kube_running": before, "kube_pending": pending, "checked_before": before,
        "after_vector": after, "optimal": optimal, "moves": 2, "evictions": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_row([3, 5], [3, 5], optimal=True, pending=0), "no call"),
        (_row([3, 5], [4, 1], optimal=False), "better"),  # lexicographic: the top tier first
        (_row([3, 5], [3, 6], optimal=True), "proven"),
        (_row([3, 5], [3, 5], optimal=True), "certified"),
        (_row([3, 5], [3, 5], optimal=False), "failure"),
        (_row([3, 5], [2, 9], optimal=True), "failure"),
    ],
)
def test_classes(row: dict[str, Any], expected: str) -> None:
    assert classify(row) == expected


def test_report_cells_are_shares_of_the_calls() -> None:
    rows = [
        _row([3, 5], [3, 6], optimal=True),
        _row([3, 5], [3, 5], optimal=True),
        _row([3, 5], [3, 5], optimal=False),
        _row([3, 5], [3, 5], optimal=True, pending=0),  # no call: not in the denominator
    ]
    text = report(rows)
    assert "| 4x4 | 33.3 (33.3) / 33.3 / 33.3 | 3 | 0.50 | 38.0 (37.2) / 60.4 / 1.6 |" in text
    assert "disturbed pods per pod gained: median 2.00" in text


def _executed(outcome: str, after: list[int], *, optimal: bool, **extra: Any) -> dict[str, Any]:
    return {**_row([3, 5], after, optimal=optimal), "after": "running", "outcome": outcome, **extra}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_executed("no improvement", [3, 5], optimal=True), "certified"),
        (_executed("Aborted", [3, 5], optimal=True), "failure"),  # an optimal plan not carried out
        (_executed("Completed", [3, 6], optimal=True), "proven"),  # counted on pods Running
        (_executed("Completed", [3, 5], optimal=True), "failure"),  # "Completed", nothing gained
        (_executed("Completed", [3, 7], optimal=True, overcommitted_after=["n1"]), "failure"),
    ],
)
def test_executed_rows_are_classified_on_what_runs(row: dict[str, Any], expected: str) -> None:
    assert classify(row) == expected
