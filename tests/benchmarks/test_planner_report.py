"""The command-line timing summary of the planner benchmark: what counts as within budget and
as a good plan (issue 15's "budget + 0.2 s, better or proven in 100%")."""

from __future__ import annotations

import pytest

from benchmarks.planner_report import print_report
from benchmarks.planner_running import CliTiming


def _timing(wall: float, verdict: str) -> CliTiming:
    return CliTiming("8x4-s1", 32, 5.0, wall, wall - 0.5, 90.0, verdict)


def test_the_summary_counts_overruns_and_plans_neither_better_nor_proven(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_report(
        [],
        [
            _timing(5.2, "valid, improves"),
            _timing(5.21, "valid, optimal"),
            _timing(4.0, "valid"),
            _timing(6.0, "exit 2: boom"),
        ],
    )
    out = capsys.readouterr().out
    assert (
        "within budget + 0.2 s in 2 of 4; better than the baseline or proven optimal in 2 of 4"
        in out
    )
