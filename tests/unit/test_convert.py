"""Kubernetes JSON converts to what kube-scheduler would compute; bad input fails in one line."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scheduler_ext.cluster.convert import (
    budget_from,
    namespace_from,
    node_from,
    pod_from,
    priority_class_from,
)
from scheduler_ext.domain import (
    DisruptionBudget,
    HostPort,
    LabelSelector,
    Namespace,
    NodeSelectorTerm,
    OwnerRef,
    Pod,
    PodAntiAffinityTerm,
    PriorityClass,
    Requirement,
    Taint,
    Toleration,
)
from scheduler_ext.errors import SnapshotError

MI = 1024 * 1024
GI = 1024 * MI


def container(
    requests: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": "c", "image": "busybox", "resources": resources, **extra}


def pod_json(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    metadata = {"name": "web-1", "namespace": "default", "uid": "u1", **meta}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [container({"cpu": "100m"})], **(spec or {})},
        "status": {"phase": "Running"},
    }


def converted(obj: dict[str, Any], priorities: dict[str, PriorityClass] | None = None) -> Pod:
    pod = pod_from(obj, priorities)
    assert pod is not None
    return pod


# --- effective requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"containers": [container({"cpu": "100m", "memory": "64Mi"})]},
            {"cpu": 100, "memory": 64 * MI},
            id="one-container",
        ),
        pytest.param(
            {
                "containers": [
                    container({"cpu": "100m", "memory": "64Mi"}),
                    container({"cpu": "250m", "memory": "1Gi"}),
                ]
            },
            {"cpu": 350, "memory": GI + 64 * MI},
            id="containers-add-up",
        ),
        pytest.param(
            {"containers": [container(None, {"cpu": "2", "memory": "1Gi"})]},
            {"cpu": 2000, "memory": GI},
            id="limits-become-requests",
        ),
        pytest.param(
            {"containers": [container({"cpu": "500m"}, {"cpu": "2", "memory": "1Gi"})]},
            {"cpu": 500, "memory": GI},
            id="request-kept-limit-fills-the-rest",
        ),
        pytest.param(
            {"containers": [container()]},
            {},
            id="best-effort-requests-nothing",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m", "memory": "100Mi"})],
                "initContainers": [container({"cpu": "1", "memory": "10Mi"})],
            },
            {"cpu": 1000, "memory": 100 * MI},
            id="init-container-peak-per-resource",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [
                    container({"cpu": "300m"}),
                    container({"cpu": "700m"}),
                ],
            },
            {"cpu": 700},
            id="init-containers-take-the-max-not-the-sum",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [container({"cpu": "200m"}, restartPolicy="Always")],
            },
            {"cpu": 300},
            id="sidecar-adds-to-containers",
        ),
        pytest.param(
            # sidecar 200m starts first; init 500m then runs beside it (700m); then the app
            # (100m) runs beside the sidecar (300m): the pod needs max(700, 300).
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [
                    container({"cpu": "200m"}, restartPolicy="Always"),
                    container({"cpu": "500m"}),
                ],
            },
            {"cpu": 700},
            id="init-after-sidecar-runs-beside-it",
        ),
        pytest.param(
            # init 500m runs before the sidecar exists: max(500, 100 + 200) = 500.
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [
                    container({"cpu": "500m"}),
                    container({"cpu": "200m"}, restartPolicy="Always"),
                ],
            },
            {"cpu": 500},
            id="init-before-sidecar-runs-alone",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "1", "memory": "1Gi"})],
                "overhead": {"cpu": "250m", "memory": "120Mi"},
            },
            {"cpu": 1250, "memory": GI + 120 * MI},
            id="overhead-added",
        ),
        pytest.param(
            {
                "containers": [
                    container({"cpu": "100m", "memory": "100Mi"}),
                    container({"cpu": "100m", "memory": "100Mi"}),
                ],
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
            },
            {"cpu": 1000, "memory": GI},
            id="pod-level-requests-override",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "resources": {"limits": {"cpu": "2", "memory": "2Gi"}},
            },
            {"cpu": 100, "memory": 2 * GI},
            id="pod-level-limit-defaults-only-unrequested-resources",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m", "nvidia.com/gpu": "1"})],
                "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "4"}},
                "overhead": {"cpu": "10m"},
            },
            {"cpu": 1010, "nvidia.com/gpu": 1},
            id="pod-level-only-cpu-memory-then-overhead",
        ),
        pytest.param(
            {
                "containers": [
                    container({"nvidia.com/gpu": "2", "example.com/foo": 3}),
                    container(None, {"nvidia.com/gpu": "1"}),
                ]
            },
            {"nvidia.com/gpu": 3, "example.com/foo": 3},
            id="extended-resources-in-units",
        ),
        pytest.param(
            {
                "containers": [
                    container({"hugepages-2Mi": "64Mi", "ephemeral-storage": "1G", "memory": "1G"})
                ]
            },
            {"hugepages-2Mi": 64 * MI, "ephemeral-storage": 10**9, "memory": 10**9},
            id="hugepages-and-ephemeral-storage-in-bytes",
        ),
        pytest.param(
            {"containers": [container({"cpu": "0.5m"}), container({"cpu": "500u"})]},
            {"cpu": 1},
            id="sub-milli-summed-before-rounding",
        ),
        pytest.param(
            {"containers": [container({"cpu": 2, "memory": 1e9})]},
            {"cpu": 2000, "memory": 10**9},
            id="json-numbers",
        ),
    ],
)
def test_effective_requests(spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert converted(pod_json(spec)).requests.as_dict() == expected


def test_container_cache_does_not_leak_between_pods() -> None:
    same = {"containers": [container({"cpu": "100m"}), container({"cpu": "100m"})]}
    assert converted(pod_json(same)).requests.as_dict() == {"cpu": 200}
    assert converted(pod_json(copy.deepcopy(same))).requests.as_dict() == {"cpu": 200}


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
            {"kind": "ReplicaSet", "name": "web-abc", "uid": "u2", "controller": True},
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
    assert pod.owner == OwnerRef("ReplicaSet", "web-abc", "u2")
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


def test_empty_required_node_affinity_matches_nothing() -> None:
    affinity: dict[str, Any] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}
    }
    pod = converted(pod_json({"affinity": affinity}))
    assert pod.required_node_affinity == (NodeSelectorTerm(),)


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
            {
                "affinity": {
                    "podAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {}, "topologyKey": "zone"}
                        ]
                    }
                }
            },
            "required pod affinity",
            id="pod-affinity",
        ),
        pytest.param(
            {
                "affinity": {
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [ANTI_TERM]
                    }
                }
            },
            "required pod anti-affinity",
            id="pod-anti-affinity",
        ),
        pytest.param(
            {
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                ]
            },
            "a DoNotSchedule topology spread constraint",
            id="spread-do-not-schedule",
        ),
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
        pytest.param({"schedulingGates": []}, id="no-gates"),
    ],
)
def test_soft_constraints_are_modelled(spec: dict[str, Any]) -> None:
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
        PodAntiAffinityTerm(
            selector=LabelSelector(
                match_labels=(("app", "db"),),
                match_expressions=(Requirement("tier", "NotIn", ("x",)),),
            ),
            topology_key="kubernetes.io/hostname",
            namespaces=("a", "b"),
            namespace_selector=LabelSelector(match_labels=(("team", "x"),)),
        ),
        PodAntiAffinityTerm(
            selector=LabelSelector(),
            topology_key="zone",
            namespaces=(),
            namespace_selector=LabelSelector(),
        ),
    )
    assert pod.unmodelled == "required pod anti-affinity"


# --- nodes and the other kinds --------------------------------------------------------------------


def node_json(**status: Any) -> dict[str, Any]:
    return {
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"zone": "a"}},
        "spec": {
            "unschedulable": True,
            "taints": [
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            ],
        },
        "status": {
            "allocatable": {
                "cpu": "3920m",
                "memory": "15Gi",
                "pods": "110",
                "hugepages-1Gi": "2Gi",
                "nvidia.com/gpu": "4",
                "ephemeral-storage": "100G",
            },
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            **status,
        },
    }


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
    assert namespace_from(ns) == Namespace("prod", (("team", "x"),))


# --- bad input ------------------------------------------------------------------------------------


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
