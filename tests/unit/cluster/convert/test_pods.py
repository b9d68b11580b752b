"""Pod JSON converts to what kube-scheduler decides on: priority, owner, volumes, constraints."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.convert import pod_from
from scheduler_ext.domain import (
    HostPort,
    LabelSelector,
    NodeSelectorTerm,
    OwnerRef,
    PodAffinityTerm,
    PriorityClass,
    Requirement,
    Toleration,
)
from tests.unit.cluster.convert.raw import container, converted, pod_json

# --- priority -------------------------------------------------------------------------------------

CLASSES = {
    "high": PriorityClass("high", 1000),
    "low-default": PriorityClass("low-default", 5, global_default=True),
    "other-default": PriorityClass("other-default", 7, global_default=True),
}


@pytest.mark.parametrize(
    ("spec", "classes", "priority", "class_name"),
    [
        pytest.param({"priority": 42, "priorityClassName": "high"}, CLASSES, 42, "high", id="spec"),
        pytest.param({"priorityClassName": "high"}, CLASSES, 1000, "high", id="class"),
        pytest.param({}, CLASSES, 5, "low-default", id="lowest-global-default"),
        pytest.param({}, {"high": CLASSES["high"]}, 0, "", id="no-default-is-zero"),
        pytest.param({}, None, 0, "", id="no-classes"),
        pytest.param(
            {"priorityClassName": "system-node-critical"},
            None,
            2_000_001_000,
            "system-node-critical",
            id="builtin-class",
        ),
        pytest.param({"priorityClassName": "gone"}, CLASSES, 5, "gone", id="unknown-class"),
    ],
)
def test_priority(
    spec: dict[str, Any],
    classes: dict[str, PriorityClass] | None,
    priority: int,
    class_name: str,
) -> None:
    pod = converted(pod_json(spec), classes)
    assert (pod.priority, pod.priority_class_name) == (priority, class_name)


# --- scheduling facts -----------------------------------------------------------------------------


def test_pod_facts() -> None:
    obj = pod_json(
        {
            "nodeName": "n1",
            "schedulerName": "other",
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [
                {"key": "k", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "a", "value": "b", "tolerationSeconds": 30, "effect": "NoExecute"},
            ],
            "containers": [
                container(
                    {"cpu": "1"},
                    ports=[
                        {"containerPort": 80, "hostPort": 8080},
                        {
                            "containerPort": 53,
                            "hostPort": 53,
                            "protocol": "UDP",
                            "hostIP": "1.2.3.4",
                        },
                        {"containerPort": 9090},
                        {"containerPort": 9091, "hostPort": 0},
                    ],
                )
            ],
            "initContainers": [container(ports=[{"containerPort": 1, "hostPort": 7000}])],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "zone", "operator": "In", "values": ["a", "b"]}
                                ],
                                "matchFields": [
                                    {"key": "metadata.name", "operator": "NotIn", "values": ["n9"]}
                                ],
                            },
                            {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]},
                        ]
                    },
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 1, "preference": {"matchExpressions": []}}
                    ],
                }
            },
        },
        labels={"app": "web"},
        annotations={"a": "1"},
        ownerReferences=[
            {"kind": "Other", "name": "x", "uid": "u0"},
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-abc",
                "uid": "u2",
                "controller": True,
            },
        ],
        deletionTimestamp="2024-01-01T00:00:00Z",
    )
    pod = converted(obj)
    assert pod.key == "default/web-1"
    assert pod.uid == "u1"
    assert pod.node_name == "n1"
    assert pod.bound
    assert pod.phase == "Running"
    assert pod.scheduler_name == "other"
    assert pod.labels == (("app", "web"),)
    assert pod.annotations == (("a", "1"),)
    assert pod.node_selector == (("disk", "ssd"),)
    assert pod.tolerations == (
        Toleration(key="k", operator="Exists", effect="NoSchedule"),
        Toleration(key="a", operator="Equal", value="b", effect="NoExecute"),
    )
    assert pod.host_ports == (
        HostPort(8080, "TCP"),
        HostPort(53, "UDP", "1.2.3.4"),
        HostPort(7000, "TCP"),
    )
    assert pod.required_node_affinity == (
        NodeSelectorTerm(
            match_expressions=(Requirement("zone", "In", ("a", "b")),),
            match_fields=(Requirement("metadata.name", "NotIn", ("n9",)),),
        ),
        NodeSelectorTerm(match_expressions=(Requirement("gpu", "Exists"),)),
    )
    assert pod.owner == OwnerRef("ReplicaSet", "web-abc", "u2", api_version="apps/v1")
    assert pod.owner.group == "apps"
    assert pod.terminating
    assert not pod.local_storage
    assert pod.unmodelled is None


def test_pending_pod_defaults() -> None:
    obj = pod_json()
    del obj["status"]
    del obj["metadata"]["namespace"]
    pod = converted(obj)
    assert pod.namespace == "default"
    assert pod.node_name is None
    assert not pod.bound
    assert pod.phase == "Pending"
    assert pod.scheduler_name == "default-scheduler"
    assert pod.owner is None
    assert not pod.terminating
    assert pod.required_node_affinity == ()


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_finished_pods_are_dropped(phase: str) -> None:
    obj = pod_json({"nodeName": "n1"})
    obj["status"]["phase"] = phase
    assert pod_from(obj, {}) is None


@pytest.mark.parametrize(
    ("volumes", "local"),
    [
        pytest.param([{"name": "v", "emptyDir": {}}], True, id="empty-dir-on-disk"),
        pytest.param([{"name": "v", "emptyDir": {"medium": "Memory"}}], False, id="tmpfs"),
        pytest.param([{"name": "v", "hostPath": {"path": "/x"}}], True, id="host-path"),
        pytest.param([{"name": "v", "configMap": {"name": "c"}}], False, id="config-map"),
        pytest.param([{"name": "v", "projected": {"sources": []}}], False, id="projected"),
        pytest.param(
            [{"name": "a", "secret": {}}, {"name": "b", "emptyDir": {"sizeLimit": "1Gi"}}],
            True,
            id="second-volume",
        ),
    ],
)
def test_local_storage(volumes: list[dict[str, Any]], local: bool) -> None:
    assert converted(pod_json({"volumes": volumes})).local_storage is local


# --- what the planner does not model --------------------------------------------------------------

ANTI_TERM = {
    "labelSelector": {
        "matchLabels": {"app": "db"},
        "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}],
    },
    "topologyKey": "kubernetes.io/hostname",
}


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        pytest.param(
            {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}}]},
            'PersistentVolumeClaim volume "data"',
            id="pvc",
        ),
        pytest.param(
            {"volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]},
            'ephemeral volume "scratch"',
            id="generic-ephemeral-volume",
        ),
        pytest.param(
            {"resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu-0"}]},
            "resource claims (DRA)",
            id="dra",
        ),
        pytest.param(
            {"schedulingGates": [{"name": "example.com/wait"}]}, "scheduling gates", id="gates"
        ),
        pytest.param(
            {
                "schedulingGates": [{"name": "g"}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "d"}}],
            },
            'PersistentVolumeClaim volume "d", scheduling gates',
            id="several-reasons-on-one-line",
        ),
    ],
)
def test_unmodelled(spec: dict[str, Any], reason: str) -> None:
    assert converted(pod_json(spec)).unmodelled == reason


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(
            {
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}
                ]
            },
            id="spread-schedule-anyway",
        ),
        pytest.param(
            {
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 1, "podAffinityTerm": ANTI_TERM}
                        ]
                    }
                }
            },
            id="preferred-anti-affinity",
        ),
        pytest.param(
            {
                "affinity": {
                    "podAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {}, "topologyKey": "zone"}
                        ]
                    }
                }
            },
            id="required-pod-affinity",
        ),
        pytest.param(
            {
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                ]
            },
            id="spread-do-not-schedule",
        ),
        pytest.param({"schedulingGates": []}, id="no-gates"),
    ],
)
def test_modelled_constraints_leave_the_pod_planned(spec: dict[str, Any]) -> None:
    assert converted(pod_json(spec)).unmodelled is None


def test_anti_affinity_terms() -> None:
    with_selector = {
        **ANTI_TERM,
        "namespaces": ["a", "b"],
        "namespaceSelector": {"matchLabels": {"team": "x"}},
    }
    everywhere = {"labelSelector": {}, "topologyKey": "zone", "namespaceSelector": {}}
    no_selector = {"topologyKey": "zone"}
    spec = {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    with_selector,
                    everywhere,
                    no_selector,
                ]
            }
        }
    }
    pod = converted(pod_json(spec))
    assert pod.anti_affinity == (
        PodAffinityTerm(
            selector=LabelSelector(
                match_labels=(("app", "db"),),
                match_expressions=(Requirement("tier", "NotIn", ("x",)),),
            ),
            topology_key="kubernetes.io/hostname",
            namespaces=("a", "b"),
            namespace_selector=LabelSelector(match_labels=(("team", "x"),)),
        ),
        PodAffinityTerm(
            selector=LabelSelector(),
            topology_key="zone",
            namespaces=(),
            namespace_selector=LabelSelector(),
        ),
    )
    assert pod.unmodelled is None  # the model plans required anti-affinity
