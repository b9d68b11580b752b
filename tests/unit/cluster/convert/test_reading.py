"""Bad input fails in one line naming the object and the field."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.convert import (
    budget_from,
    namespace_from,
    node_from,
    pod_from,
    priority_class_from,
)
from scheduler_ext.errors import SnapshotError
from tests.unit.cluster.convert.raw import node_json, pod_json


def broken(path: str, value: Any) -> dict[str, Any]:
    """pod_json with the field at a dotted path (list indices as numbers) set to ``value``."""
    obj = pod_json({"nodeName": "n1", "volumes": [{"name": "v", "emptyDir": {}}]})
    *parents, last = path.split(".")
    target: Any = obj
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return obj


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(
            broken("spec.containers.0.resources", {"requests": {"cpu": "1x"}}),
            'pods/default/web-1: spec.containers[0].resources.requests.cpu: invalid quantity "1x"',
            id="bad-quantity",
        ),
        pytest.param(
            broken("spec.containers.0.resources", {"limits": {"memory": True}}),
            "pods/default/web-1: spec.containers[0].resources.limits.memory: invalid quantity true",
            id="bool-quantity",
        ),
        pytest.param(
            broken("metadata.name", None),
            "pods/default/?: metadata.name: missing",
            id="no-name",
        ),
        pytest.param(
            broken("metadata", ["x"]),
            "pods/default/?: metadata: expected a mapping, got a list",
            id="metadata-list",
        ),
        pytest.param(
            broken("spec.containers", {"name": "c"}),
            "pods/default/web-1: spec.containers: expected a list, got a mapping",
            id="containers-mapping",
        ),
        pytest.param(
            broken("spec.containers.0", "c"),
            "pods/default/web-1: spec.containers[0]: expected a mapping, got a string",
            id="container-string",
        ),
        pytest.param(
            broken("spec.priority", "high"),
            "pods/default/web-1: spec.priority: expected an integer, got a string",
            id="priority-string",
        ),
        pytest.param(
            broken("spec.nodeName", 7),
            "pods/default/web-1: spec.nodeName: expected a string, got a number",
            id="node-name-number",
        ),
        pytest.param(
            broken("metadata.labels", {"app": 1}),
            "pods/default/web-1: metadata.labels.app: expected a string, got a number",
            id="label-number",
        ),
        pytest.param(
            broken("spec.tolerations", [{"key": ["k"]}]),
            "pods/default/web-1: spec.tolerations[0].key: expected a string, got a list",
            id="toleration-key-list",
        ),
        pytest.param(
            broken("spec.volumes.0.emptyDir", "yes"),
            "pods/default/web-1: spec.volumes[0].emptyDir: expected a mapping, got a string",
            id="volume-source-string",
        ),
        pytest.param(
            broken(
                "spec.affinity",
                {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [{"matchExpressions": [{"key": "k"}]}]
                        }
                    }
                },
            ),
            "pods/default/web-1: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnored"
            "DuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: missing",
            id="requirement-without-operator",
        ),
        pytest.param(
            broken("spec.containers.0.ports", [{"hostPort": "80"}]),
            "pods/default/web-1: spec.containers[0].ports[0].hostPort: "
            "expected an integer, got a string",
            id="host-port-string",
        ),
        pytest.param(
            broken("metadata.ownerReferences", [{"kind": "RS", "controller": "yes"}]),
            "pods/default/web-1: metadata.ownerReferences[0].controller: "
            "expected a boolean, got a string",
            id="controller-string",
        ),
        pytest.param(
            "not an object",
            "pods: expected an object (mapping), got a string",
            id="not-a-mapping",
        ),
    ],
)
def test_bad_pod(obj: Any, message: str) -> None:
    with pytest.raises(SnapshotError) as excinfo:
        pod_from(obj, {})
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("status", "message"),
    [
        pytest.param(
            {"allocatable": None, "capacity": None},
            "nodes/n1: status.allocatable: missing",
            id="no-allocatable",
        ),
        pytest.param(
            {"allocatable": {"cpu": "four"}},
            'nodes/n1: status.allocatable.cpu: invalid quantity "four"',
            id="bad-allocatable",
        ),
        pytest.param(
            {"allocatable": ["cpu"]},
            "nodes/n1: status.allocatable: expected a mapping, got a list",
            id="allocatable-list",
        ),
        pytest.param(
            {"conditions": {"Ready": "True"}},
            "nodes/n1: status.conditions: expected a list, got a mapping",
            id="conditions-mapping",
        ),
    ],
)
def test_bad_node(status: dict[str, Any], message: str) -> None:
    with pytest.raises(SnapshotError) as excinfo:
        node_from(node_json(**status))
    assert str(excinfo.value) == message


def test_bad_taint_and_other_kinds() -> None:
    obj = node_json()
    obj["spec"]["taints"] = [{"key": "k"}]
    with pytest.raises(SnapshotError, match=r"^nodes/n1: spec\.taints\[0\]\.effect: missing$"):
        node_from(obj)
    with pytest.raises(SnapshotError, match=r"^priorityclasses/p: value: missing$"):
        priority_class_from({"metadata": {"name": "p"}})
    with pytest.raises(
        SnapshotError,
        match=r"^poddisruptionbudgets/ns/b: status\.disruptionsAllowed: expected an integer",
    ):
        budget_from(
            {"metadata": {"name": "b", "namespace": "ns"}, "status": {"disruptionsAllowed": "1"}}
        )
    with pytest.raises(SnapshotError, match=r"^namespaces/\?: metadata\.name: missing$"):
        namespace_from({"metadata": {}})
