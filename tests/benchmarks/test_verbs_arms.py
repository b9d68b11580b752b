"""The arms comparison's bookkeeping: the order of a round's runs and the ratios it reports."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.verbs import main
from benchmarks.verbs_arms import (
    WITHOUT,
    cpu_per_pod,
    measure_arms,
    report,
    round_order,
    shipped_arms,
    summarize,
)
from benchmarks.verbs_throughput import CPU_COLUMNS

NAMES = ("dry-run", "enforce", "stub")


def test_over_as_many_rounds_as_runs_each_run_takes_each_position_once() -> None:
    orders = [round_order(NAMES, r) for r in range(4)]
    for order in orders:
        assert sorted(order) == sorted([WITHOUT, *NAMES])
    for position in range(4):
        assert sorted(order[position] for order in orders) == sorted([WITHOUT, *NAMES])


def test_the_arms_are_the_shipped_configurations() -> None:
    arms = shipped_arms()
    assert arms["dry-run"].verbs == ("prioritize", "preempt")
    assert arms["enforce"].verbs == ("filter", "prioritize", "preempt", "bind")
    assert arms["enforce"].env == {"SCHEDULER_EXT_MODE": "enforce"}
    assert arms["stub"].stub
    assert arms["stub"].verbs == arms["dry-run"].verbs
    assert not arms["dry-run"].env


def _rows(rates: dict[str, list[float]]) -> list[dict[str, object]]:
    return [
        {"run": f"r{i + 1}", "extender": name, "pods_per_s": rate}
        for name, values in rates.items()
        for i, rate in enumerate(values)
    ]


def test_each_arm_is_divided_by_its_own_rounds_run_without() -> None:
    rates = {
        WITHOUT: [100.0, 50.0, 80.0],
        "dry-run": [90.0, 40.0, 72.0],
        "enforce": [81.0, 30.0, 72.0],
        "stub": [95.0, 45.0, 76.0],
    }
    summary = summarize(_rows(rates), NAMES)
    assert summary["rounds"] == 3
    dry = summary["arms"]["dry-run"]
    assert dry["ratios"] == pytest.approx([0.9, 0.8, 0.9])
    assert dry["median_ratio"] == pytest.approx(0.9)
    assert dry["ratio_of_medians"] == pytest.approx(72.0 / 80.0)
    enforce = summary["criteria"]["enforce / dry-run"]
    assert enforce["per_round"] == pytest.approx([0.9, 0.75, 1.0])
    assert enforce["median_per_round"] == pytest.approx(0.9)
    assert enforce["of_median_ratios"] == pytest.approx(0.81 / 0.9)  # medians 0.81 and 0.9
    stub = summary["criteria"]["dry-run / stub"]
    assert stub["per_round"] == pytest.approx([90 / 95, 40 / 45, 72 / 76])
    assert stub["target"] == 0.95


def test_cpu_is_per_pod_bound_and_the_median_over_each_arms_runs() -> None:
    cpu = {f"cpu_s {name}": 1.0 for name in CPU_COLUMNS}
    rows = [
        {"extender": "enforce", "bound": 500, **cpu, "cpu_s extender": 3.5, "cpu_s total": 20.0},
        {"extender": "enforce", "bound": 250, **cpu, "cpu_s extender": 1.0, "cpu_s total": 5.0},
        {"extender": "enforce", "bound": 500, **cpu, "cpu_s extender": 1.5, "cpu_s total": 9.0},
        {"extender": WITHOUT, "bound": 100, **cpu, "cpu_s extender": 0.0, "cpu_s total": 3.0},
    ]
    per_pod = cpu_per_pod(rows)
    assert per_pod["enforce"]["extender"] == pytest.approx(4.0)  # of 7.0, 4.0, 3.0 ms per pod
    assert per_pod["enforce"]["total"] == pytest.approx(20.0)  # of 40, 20, 18
    assert per_pod[WITHOUT]["kube-scheduler"] == pytest.approx(10.0)
    assert "enforce" in report(summarize([], ("enforce",)) | {"cpu": per_pod})


def test_an_incomplete_round_is_left_out_and_absent_arms_have_no_criterion() -> None:
    rows = _rows({WITHOUT: [100.0, 60.0], "dry-run": [90.0]})
    summary = summarize(rows, ("dry-run",))
    assert summary["rounds"] == 1
    assert summary["arms"]["dry-run"]["ratios"] == pytest.approx([0.9])
    assert summary["criteria"] == {}
    empty = summarize([], ("dry-run",))
    assert math.isnan(empty["arms"]["dry-run"]["median_ratio"])


@pytest.mark.parametrize(
    "argv",
    [
        ["throughput", "--arms", "bogus"],
        ["throughput", "--arms", "stub,stub"],
        ["throughput", "--arms", ""],
        ["throughput", "--arms", "stub", "--stub"],
        ["throughput", "--arms", "dry-run", "--verbs", "filter"],
    ],
)
def test_bad_arms_are_refused_in_one_line(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert isinstance(exc.value.code, str)
    assert "\n" not in exc.value.code


@pytest.mark.slow
@pytest.mark.e2e
def test_one_round_runs_every_arm_on_the_real_control_plane() -> None:
    """A tiny round on a kwokctl cluster: every arm binds every pod, the enforce arm's service
    binds them itself (the bind verb) and no arm's service plans (no pod is left pending)."""
    rows = measure_arms(5, 20, 1, 100, NAMES)
    assert sorted(row["extender"] for row in rows) == sorted([WITHOUT, *NAMES])
    by_arm = {row["extender"]: row for row in rows}
    for row in rows:
        assert row["bound"] == 20
        assert row["pods_per_s"] > 0
    # Read as the watch sees the last binding: a bind whose answer is in flight may be missed.
    assert 0 < by_arm["enforce"]["bound_by_extender"] <= 20
    assert by_arm["enforce"]["verbs"] == "filter,prioritize,preempt,bind"
    assert by_arm["dry-run"]["bound_by_extender"] == 0
    assert by_arm["dry-run"]["planning_rounds"] == by_arm["enforce"]["planning_rounds"] == 0
    summary = summarize(rows, NAMES)
    assert summary["rounds"] == 1
    assert set(summary["criteria"]) == {"enforce / dry-run", "dry-run / stub"}


def test_a_baseline_adds_each_service_arm_run_from_the_other_checkout(tmp_path: Path) -> None:
    from benchmarks.verbs_arms import with_baseline

    arms = with_baseline(shipped_arms(), tmp_path)
    assert set(arms) == {"dry-run", "enforce", "stub", "dry-run@base", "enforce@base"}
    based = arms["enforce@base"]
    assert based.verbs == arms["enforce"].verbs
    assert based.env == {
        "SCHEDULER_EXT_MODE": "enforce",
        "PYTHONSAFEPATH": "1",
        "PYTHONPATH": str(tmp_path),
    }
    assert with_baseline(shipped_arms(), None) == shipped_arms()
