"""Selectors and node selector terms read as the API defines them."""

from __future__ import annotations

from typing import Any

from scheduler_ext.domain import NodeSelectorTerm
from tests.unit.cluster.convert.raw import converted, pod_json


def test_empty_required_node_affinity_matches_nothing() -> None:
    affinity: dict[str, Any] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}
    }
    pod = converted(pod_json({"affinity": affinity}))
    assert pod.required_node_affinity == (NodeSelectorTerm(),)
