"""The report's plots: one PNG per figure, named as the Markdown lines that show them say; the
execution plot only when some plan was carried out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.e2e_paper_plots import write_plots


def _rows(*, executed: bool) -> list[dict[str, Any]]:
    return [
        {
            "nodes": nodes,
            "ppn": 8,
            "budget": budget,
            "plan_wall": 0.1 * nodes,
            "seconds_to_running": 5.0 + nodes if executed else None,
            "verdict": "failure" if nodes == 16 else "better",
        }
        for nodes in (4, 8, 16)
        for budget in (1.0, 10.0)
    ]


def test_every_plot_is_written_and_shown(tmp_path: Path) -> None:
    lines = write_plots(_rows(executed=True), tmp_path, lambda r: str(r["verdict"]))
    assert lines == [
        "![success by size](e2e-paper-success.png)",
        "![planning time](e2e-paper-time.png)",
        "![trigger to running](e2e-paper-execution.png)",
    ]
    for name in ("success", "time", "execution"):
        assert (tmp_path / f"e2e-paper-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_execution_plot_without_a_plan_carried_out(tmp_path: Path) -> None:
    lines = write_plots(_rows(executed=False), tmp_path, lambda r: str(r["verdict"]))
    assert len(lines) == 2
    assert not (tmp_path / "e2e-paper-execution.png").exists()
