"""The paper's protocol, end to end, at smoke size (``python -m benchmarks.e2e_paper --smoke``):
the real kube-scheduler places two 4-node instances that cannot all fit (some ReplicaSets guarded
by a PodDisruptionBudget that allows no disruption), then ``scheduler-ext serve`` in enforce mode
plans and carries its plans out at 1 s and 10 s (the 10 s run on the default's end state rebuilt).

Correctness only, never speed: no pod lost, no budget violated, no node oversubscribed (kwok
runs whatever is bound), every carried-out plan's pods
Running on their planned nodes, the independent checker's placement for the plan equal to the
pods seen Running, and at least one plan carried out (otherwise nothing was tested). The grid is a
benchmark, not a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_smoke_run_loses_nothing_and_lands_every_plan(tmp_path: Path) -> None:
    out = tmp_path / "smoke.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.e2e_paper", "--smoke", "--smoke-out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert "pods lost 0, PDB violations 0" in last, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.returncode == 0, (last, proc.stderr[-5000:])

    rows = [json.loads(line) for line in out.read_text().splitlines() if line]
    assert {r["budget"] for r in rows} == {1.0, 10.0}
    for row in rows:
        where = (row["instance"], row["budget"])
        assert (row["lost"], row["pdb_violations"]) == (0, 0), where
        assert row["overcommitted_after"] == [], where  # no node runs more than it holds
        assert row["guarded"] > 0, where  # the budgets covered running pods
        assert row["state_running"] == row["kube_running"], where  # the state it acted on
        assert row["outcome"] in ("Completed", "no improvement"), row
        if row["outcome"] == "Completed":
            assert row["off_plan"] == 0, row
            assert row["checked_after"] == row["after_vector"], row
            assert row["after_vector"] > row["kube_running"], row  # it placed more
        else:
            assert row["after_vector"] == row["kube_running"], row  # nothing moved
    assert any(r["outcome"] == "Completed" for r in rows), rows
