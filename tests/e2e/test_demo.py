"""The README's main job (``hack/demo.sh``, ``testkit/demo.py``) does what the README says: the
Pending pod runs after a plan, and the plan is a Completed PackingPlan."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit import demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_demo_places_the_pending_pod(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.run("enforce", tmp_path) == 0  # each step waits for what it shows, or raises
    out = capsys.readouterr().out
    assert "api (2 cores, priority 1000, preemptionPolicy Never) is Pending" in out
    assert "Completed" in out.split("the plan, as operators see it")[1]
    assert "moved to node-" in out
