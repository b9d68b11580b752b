"""The paper's protocol on one small instance (``benchmarks/e2e_paper.py``): the real
kube-scheduler places a 4-node instance that cannot all fit, then the planner's plan on the state
it left is checked by the independent checker and must beat or certify kube-scheduler's placement
(at 4 x 4 pods, 5 s always proves the optimum). The whole grid is a benchmark, not a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.e2e_paper_report import classify
from benchmarks.e2e_paper_runner import run_grid
from benchmarks.workloads_paper import PaperSpec

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_one_instance_end_to_end(tmp_path: Path) -> None:
    spec = PaperSpec(nodes=4, pods_per_node=4, priorities=2, util=1.05, seed=7)
    out = tmp_path / "results.jsonl"
    assert run_grid([spec], [5.0], out, set()) == 1
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["kube_pending"] > 0  # util 1.05: the pods cannot all fit
    assert sum(row["kube_running"]) + row["kube_pending"] == spec.pods
    assert row["checked_before"] == row["kube_running"]  # the snapshot is what kube-scheduler left
    assert classify(row) in ("proven", "certified"), row
