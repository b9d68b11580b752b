"""Nodes, budgets, priority classes and namespaces convert as the API defaults them."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.convert import (
    budget_from,
    namespace_from,
    node_from,
    priority_class_from,
)
from scheduler_ext.domain import (
    DisruptionBudget,
    LabelSelector,
    Namespace,
    PriorityClass,
    Taint,
)
from scheduler_ext.errors import SnapshotError
from tests.unit.cluster.convert.raw import GI, node_json


def test_node() -> None:
    node = node_from(node_json())
    assert node.name == "n1"
    assert node.allocatable.as_dict() == {
        "cpu": 3920,
        "memory": 15 * GI,
        "pods": 110,
        "hugepages-1Gi": 2 * GI,
        "nvidia.com/gpu": 4,
        "ephemeral-storage": 100 * 10**9,
    }
    assert node.labels == (("zone", "a"),)
    assert node.taints == (
        Taint("dedicated", "db", "NoSchedule"),
        Taint("node.kubernetes.io/unschedulable", "", "NoSchedule"),
    )
    assert node.unschedulable
    assert node.ready


def test_node_capacity_when_no_allocatable() -> None:
    obj = node_json()
    del obj["status"]["allocatable"]
    assert node_from(obj).allocatable.as_dict() == {"cpu": 4000, "memory": 16 * GI, "pods": 110}


@pytest.mark.parametrize(
    ("conditions", "ready"),
    [
        pytest.param([{"type": "Ready", "status": "False"}], False, id="false"),
        pytest.param([{"type": "Ready", "status": "Unknown"}], False, id="unknown"),
        pytest.param([{"type": "DiskPressure", "status": "False"}], False, id="no-ready-condition"),
        pytest.param([{"type": "Ready", "status": "True"}], True, id="true"),
    ],
)
def test_node_readiness(conditions: list[dict[str, str]], ready: bool) -> None:
    assert node_from(node_json(conditions=conditions)).ready is ready


def test_budget() -> None:
    obj: dict[str, Any] = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "db", "namespace": "prod"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}},
        "status": {"disruptionsAllowed": 1},
    }
    assert budget_from(obj) == DisruptionBudget(
        "prod", "db", LabelSelector(match_labels=(("app", "db"),)), 1
    )
    del obj["spec"]["selector"]
    del obj["status"]
    assert budget_from(obj) == DisruptionBudget("prod", "db", None, 0)
    obj["spec"]["selector"] = {}
    assert budget_from(obj).selector == LabelSelector()
    obj["apiVersion"] = "policy/v1beta1"
    assert budget_from(obj).selector is None


def test_priority_class_and_namespace() -> None:
    pc = {
        "kind": "PriorityClass",
        "metadata": {"name": "high"},
        "value": 1000,
        "globalDefault": True,
    }
    assert priority_class_from(pc) == PriorityClass("high", 1000, global_default=True)
    ns = {"kind": "Namespace", "metadata": {"name": "prod", "labels": {"team": "x"}}}
    # The API server labels every namespace with its name (namespace strategy, Canonicalize).
    assert namespace_from(ns) == Namespace(
        "prod", (("kubernetes.io/metadata.name", "prod"), ("team", "x"))
    )


def test_priority_class_preemption_policy() -> None:
    pc = {"kind": "PriorityClass", "metadata": {"name": "batch"}, "value": 10}
    assert priority_class_from(pc).preempts
    assert not priority_class_from({**pc, "preemptionPolicy": "Never"}).preempts
    with pytest.raises(SnapshotError, match=r"priorityclasses/batch: preemptionPolicy: unsup"):
        priority_class_from({**pc, "preemptionPolicy": "Rarely"})
