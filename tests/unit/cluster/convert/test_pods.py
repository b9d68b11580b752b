"""Pod JSON converts to what kube-scheduler decides on: priority, owner, volumes, constraints."""

from __future__ import annotations

import re
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
    SpreadConstraint,
    Toleration,
)
from scheduler_ext.errors import SnapshotError
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


# --- inter-pod constraints: the domain values the planner and the checker read --------------------


def affinity(kind: str, *terms: dict[str, Any]) -> dict[str, Any]:
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}}


def test_pod_affinity_terms() -> None:
    term = {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}
    pod = converted(pod_json(affinity("podAffinity", term)))
    assert pod.affinity == (
        PodAffinityTerm(
            selector=LabelSelector(match_labels=(("app", "cache"),)), topology_key="zone"
        ),
    )
    assert pod.anti_affinity == ()


@pytest.mark.parametrize("kind", ["podAffinity", "podAntiAffinity"])
def test_match_label_keys_are_folded_into_the_selector(kind: str) -> None:
    term = {
        "labelSelector": {"matchLabels": {"app": "web"}},
        "topologyKey": "zone",
        "matchLabelKeys": ["pod-template-hash", "absent"],
        "mismatchLabelKeys": ["tenant"],
    }
    obj = pod_json(affinity(kind, term), labels={"pod-template-hash": "h1", "tenant": "t1"})
    pod = converted(obj)
    terms = pod.affinity if kind == "podAffinity" else pod.anti_affinity
    assert terms == (
        PodAffinityTerm(
            selector=LabelSelector(
                match_labels=(("app", "web"),),
                match_expressions=(
                    Requirement("pod-template-hash", "In", ("h1",)),
                    Requirement("tenant", "NotIn", ("t1",)),
                ),
            ),
            topology_key="zone",
        ),
    )


def test_match_label_keys_already_merged_by_the_api_server_are_not_added_twice() -> None:
    merged = [{"key": "pod-template-hash", "operator": "In", "values": ["h1"]}]
    term = {
        "labelSelector": {"matchExpressions": merged},
        "topologyKey": "zone",
        "matchLabelKeys": ["pod-template-hash"],
    }
    pod = converted(pod_json(affinity("podAntiAffinity", term), labels={"pod-template-hash": "h1"}))
    assert pod.anti_affinity[0].selector.match_expressions == (
        Requirement("pod-template-hash", "In", ("h1",)),
    )


def test_affinity_term_without_selector_is_never_satisfied() -> None:
    pod = converted(pod_json(affinity("podAffinity", {"topologyKey": "zone"})))
    assert pod.affinity == ()
    assert pod.unmodelled is not None
    assert pod.unmodelled.startswith("required pod affinity term 0 has no labelSelector")


SPREAD = {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}


def spread(*constraints: dict[str, Any]) -> dict[str, Any]:
    return {"topologySpreadConstraints": list(constraints)}


def test_spread_constraints() -> None:
    full = {
        "maxSkew": 2,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
        "minDomains": 3,
        "nodeAffinityPolicy": "Ignore",
        "nodeTaintsPolicy": "Honor",
        "matchLabelKeys": ["pod-template-hash"],
    }
    soft = {**SPREAD, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway"}
    defaults = {**SPREAD, "labelSelector": {"matchLabels": {"app": "web"}}}
    obj = pod_json(spread(full, soft, defaults), labels={"pod-template-hash": "h1"})
    assert converted(obj).spread == (
        SpreadConstraint(
            max_skew=2,
            topology_key="kubernetes.io/hostname",
            selector=LabelSelector(
                match_labels=(("app", "web"),),
                match_expressions=(Requirement("pod-template-hash", "In", ("h1",)),),
            ),
            min_domains=3,
            honor_node_affinity=False,
            honor_node_taints=True,
        ),
        SpreadConstraint(
            max_skew=1,
            topology_key="zone",
            selector=LabelSelector(match_labels=(("app", "web"),)),
        ),
    )


@pytest.mark.parametrize(
    "selector",
    [pytest.param(None, id="no-selector"), pytest.param({}, id="empty-selector-counts-nothing")],
)
def test_spread_selector_matching_no_pod(selector: dict[str, Any] | None) -> None:
    constraint = dict(SPREAD) if selector is None else {**SPREAD, "labelSelector": selector}
    assert converted(pod_json(spread(constraint))).spread == (
        SpreadConstraint(max_skew=1, topology_key="zone", selector=None),
    )


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param(spread({**SPREAD, "maxSkew": 0}), "[0].maxSkew", id="zero-skew"),
        pytest.param(spread({**SPREAD, "maxSkew": -1}), "[0].maxSkew", id="negative-skew"),
        pytest.param(spread({**SPREAD, "maxSkew": None}), "[0].maxSkew", id="no-skew"),
        pytest.param(spread({**SPREAD, "maxSkew": "1"}), "[0].maxSkew", id="string-skew"),
        pytest.param(spread({**SPREAD, "topologyKey": ""}), "[0].topologyKey", id="no-key"),
        pytest.param(
            spread({**SPREAD, "whenUnsatisfiable": "Maybe"}),
            "[0].whenUnsatisfiable",
            id="bad-action",
        ),
        pytest.param(
            spread({**SPREAD, "whenUnsatisfiable": None}),
            "[0].whenUnsatisfiable",
            id="no-action",
        ),
        pytest.param(spread({**SPREAD, "minDomains": 0}), "[0].minDomains", id="zero-domains"),
        pytest.param(
            spread({**SPREAD, "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}),
            "[0].minDomains",
            id="min-domains-with-schedule-anyway",
        ),
        pytest.param(
            spread({**SPREAD, "nodeTaintsPolicy": "Always"}),
            "[0].nodeTaintsPolicy",
            id="bad-taints-policy",
        ),
        pytest.param(
            spread({**SPREAD, "nodeAffinityPolicy": "honor"}),
            "[0].nodeAffinityPolicy",
            id="bad-affinity-policy",
        ),
        pytest.param(spread(SPREAD, SPREAD), "[1]", id="duplicate"),
        pytest.param(
            spread({**SPREAD, "matchLabelKeys": ["app"]}),
            "[0].matchLabelKeys",
            id="match-label-keys-without-selector",
        ),
        pytest.param(
            spread(
                {
                    **SPREAD,
                    "labelSelector": {
                        "matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]
                    },
                }
            ),
            "[0].labelSelector.matchExpressions[0].operator",
            id="bad-operator",
        ),
        pytest.param(
            spread(
                {**SPREAD, "labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}
            ),
            "[0].labelSelector.matchExpressions[0].values",
            id="in-without-values",
        ),
        pytest.param(
            spread(
                {
                    **SPREAD,
                    "labelSelector": {
                        "matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]
                    },
                }
            ),
            "[0].labelSelector.matchExpressions[0].values",
            id="exists-with-values",
        ),
    ],
)
def test_malformed_spread_constraints(spec: dict[str, Any], field: str) -> None:
    path = f"pods/default/web-1: spec.topologySpreadConstraints{field}"
    with pytest.raises(SnapshotError, match=re.escape(path)):
        converted(pod_json(spec))


@pytest.mark.parametrize(
    ("term", "field"),
    [
        pytest.param({"labelSelector": {}}, "[0].topologyKey", id="no-topology-key"),
        pytest.param(
            {
                "labelSelector": {},
                "topologyKey": "zone",
                "matchLabelKeys": ["a"],
                "mismatchLabelKeys": ["a"],
            },
            "[0].matchLabelKeys",
            id="key-in-both-lists",
        ),
        pytest.param(
            {"topologyKey": "zone", "mismatchLabelKeys": ["a"]},
            "[0].mismatchLabelKeys",
            id="label-keys-without-selector",
        ),
        pytest.param(
            {
                "labelSelector": {
                    "matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]
                },
                "topologyKey": "zone",
            },
            "[0].labelSelector.matchExpressions[0].operator",
            id="node-only-operator-in-a-label-selector",
        ),
        pytest.param(
            {"labelSelector": {}, "topologyKey": "zone", "namespaceSelector": {"matchLabels": []}},
            "[0].namespaceSelector.matchLabels",
            id="bad-namespace-selector",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["podAffinity", "podAntiAffinity"])
def test_malformed_affinity_terms(kind: str, term: dict[str, Any], field: str) -> None:
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    path = f"pods/default/web-1: spec.affinity.{kind}.{required}{field}"
    with pytest.raises(SnapshotError, match=re.escape(path)):
        converted(pod_json(affinity(kind, term)))


def test_node_selector_operators_are_checked() -> None:
    bad = {"key": "metadata.labels", "operator": "In", "values": ["x"]}
    node_affinity = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchFields": [bad]}]
                }
            }
        }
    }
    with pytest.raises(SnapshotError, match=r"nodeSelectorTerms\[0\]\.matchFields\[0\]\.key"):
        converted(pod_json(node_affinity))


# --- preemption policy ----------------------------------------------------------------------------

NEVER = PriorityClass("batch", 100, preempts=False)
NEVER_DEFAULT = PriorityClass("background", 1, global_default=True, preempts=False)


@pytest.mark.parametrize(
    ("spec", "classes", "expected"),
    [
        pytest.param({}, None, True, id="default"),
        pytest.param({"preemptionPolicy": "Never"}, None, False, id="spec-never"),
        pytest.param({"preemptionPolicy": "PreemptLowerPriority"}, None, True, id="spec-preempt"),
        pytest.param({"priorityClassName": "batch"}, {"batch": NEVER}, False, id="class-never"),
        pytest.param(
            {"priorityClassName": "batch", "priority": 100},
            {"batch": NEVER},
            False,
            id="class-never-with-priority-set",
        ),
        pytest.param({}, {"background": NEVER_DEFAULT}, False, id="global-default-never"),
        pytest.param(
            {"priorityClassName": "high"},
            {"high": PriorityClass("high", 1000), "background": NEVER_DEFAULT},
            True,
            id="named-class-wins-over-the-default",
        ),
        pytest.param(
            {"priorityClassName": "batch", "preemptionPolicy": "PreemptLowerPriority"},
            {"batch": NEVER},
            True,
            id="spec-wins",
        ),
    ],
)
def test_preempts(
    spec: dict[str, Any], classes: dict[str, PriorityClass] | None, expected: bool
) -> None:
    assert converted(pod_json(spec), classes).preempts is expected


def test_unknown_preemption_policy_is_refused() -> None:
    with pytest.raises(
        SnapshotError, match=r"spec\.preemptionPolicy: unsupported value 'Sometimes'"
    ):
        converted(pod_json({"preemptionPolicy": "Sometimes"}))
