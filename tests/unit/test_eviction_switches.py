"""The eviction switches (``movable_owner_kinds``, ``allow_pvc``) are planning options: the same
names, defaults and checks for ``scheduler-ext plan`` flags, ``SCHEDULER_EXT_PLANNING__*``
variables and the settings file; a bad value is one line (exit 2 on the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scheduler_ext import cli
from scheduler_ext.config import SettingsError, load_settings
from scheduler_ext.domain import Cluster, PackingPlan
from scheduler_ext.planning import planner
from scheduler_ext.planning.options import PlanOptions

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fragmented-cluster.json"


def test_safe_defaults() -> None:
    options = PlanOptions()
    assert options.movable_owner_kinds == {"ReplicaSet", "StatefulSet"}
    assert options.allow_pvc is False
    assert options.allow_local_storage is False


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        pytest.param("ReplicaSet,Job", {"ReplicaSet", "Job"}, id="comma-separated"),
        pytest.param(" ReplicaSet , Workflow ", {"ReplicaSet", "Workflow"}, id="spaces"),
        pytest.param(["StatefulSet"], {"StatefulSet"}, id="list"),
        pytest.param("ReplicaSet.example.com", {"ReplicaSet.example.com"}, id="kind-of-a-group"),
    ],
)
def test_owner_kinds_are_read(value: Any, kinds: set[str]) -> None:
    assert PlanOptions(movable_owner_kinds=value).movable_owner_kinds == kinds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("DaemonSet", "DaemonSet pods are never movable", id="daemonset"),
        pytest.param("ReplicaSet,Node", "Node", id="node"),
        pytest.param("DaemonSet.apps.kruise.io", "never movable", id="daemonset-of-a-group"),
        pytest.param("ReplicaSet.Example.com", "not a kind", id="group-not-lowercase"),
        pytest.param("ReplicaSet.", "not a kind", id="empty-group"),
        pytest.param("Replica Set", "not a kind", id="space-inside"),
        pytest.param("ReplicaSet,,Job", "empty", id="empty-entry"),
        pytest.param("", "at least one kind", id="none"),
        pytest.param([7], "valid string", id="not-a-string"),
    ],
)
def test_bad_owner_kinds(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlanOptions(movable_owner_kinds=value)


def test_settings_from_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().planning.movable_owner_kinds == {"ReplicaSet", "StatefulSet"}
    config = tmp_path / "settings.yaml"
    config.write_text("planning: {movable_owner_kinds: [ReplicaSet, Job], allow_pvc: true}\n")
    planning = load_settings(config_file=config).planning
    assert planning.movable_owner_kinds == {"ReplicaSet", "Job"}
    assert planning.allow_pvc is True
    monkeypatch.setenv("SCHEDULER_EXT_PLANNING__MOVABLE_OWNER_KINDS", "StatefulSet,Workflow")
    monkeypatch.setenv("SCHEDULER_EXT_PLANNING__ALLOW_PVC", "false")
    planning = load_settings(config_file=config).planning
    assert planning.movable_owner_kinds == {"StatefulSet", "Workflow"}  # environment over file
    assert planning.allow_pvc is False


@pytest.mark.parametrize(
    ("variable", "value", "where"),
    [
        pytest.param(
            "SCHEDULER_EXT_PLANNING__MOVABLE_OWNER_KINDS",
            "DaemonSet",
            "planning.movable_owner_kinds (SCHEDULER_EXT_PLANNING__MOVABLE_OWNER_KINDS)",
            id="daemonset",
        ),
        pytest.param(
            "SCHEDULER_EXT_PLANNING__ALLOW_PVC",
            "maybe",
            "planning.allow_pvc (SCHEDULER_EXT_PLANNING__ALLOW_PVC)",
            id="allow-pvc",
        ),
        pytest.param("SCHEDULER_EXT_PLANNING", "{not json", "planning", id="group-not-json"),
    ],
)
def test_bad_settings_are_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, where: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as failure:
        load_settings()
    assert len(failure.value.lines) == 1, failure.value.lines
    line = failure.value.lines[0]
    assert line.startswith(where), line
    assert "\n" not in line


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[PlanOptions]:
    """The options ``scheduler-ext plan`` hands to ``make_plan`` (the plan itself is not made)."""
    seen: list[PlanOptions] = []
    real = planner.make_plan

    def spy(cluster: Cluster, options: PlanOptions, **kwargs: Any) -> PackingPlan:
        seen.append(options)
        return real(cluster, options.model_copy(update={"solver": "greedy"}), **kwargs)

    monkeypatch.setattr(planner, "make_plan", spy)
    return seen


def plan(*flags: str) -> int:
    return cli.main(
        ["plan", "--snapshot", str(EXAMPLE), "--solver", "greedy", "-o", "json", *flags]
    )


def test_flags_reach_the_plan_options(planned: list[PlanOptions]) -> None:
    assert plan() == 0
    assert plan("--movable-owner-kinds", "ReplicaSet,Job", "--allow-pvc") == 0
    default, switched = planned
    assert default.movable_owner_kinds == {"ReplicaSet", "StatefulSet"}
    assert default.allow_pvc is False
    assert switched.movable_owner_kinds == {"ReplicaSet", "Job"}
    assert switched.allow_pvc is True


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--movable-owner-kinds" in text
    assert "(default: ReplicaSet,StatefulSet)" in text
    assert "--allow-pvc" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("DaemonSet", "DaemonSet pods are never movable", id="daemonset"),
        pytest.param("Replica Set", "not a kind", id="space"),
        pytest.param("", "at least one kind", id="none"),
        pytest.param("ReplicaSet,,Job", "empty", id="gap"),
    ],
)
def test_bad_flag_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as done:
        plan("--movable-owner-kinds", value)
    assert done.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1, errors
    assert "argument --movable-owner-kinds" in errors[0]
    assert message in errors[0]
