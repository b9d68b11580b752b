"""The converter's inter-pod facts: required pod affinity and anti-affinity terms, DoNotSchedule
spread constraints and the preemption policy, as the planner and the checker read them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from scheduler_ext.domain import (
    LabelSelector,
    PodAffinityTerm,
    PriorityClass,
    Requirement,
    SpreadConstraint,
)
from scheduler_ext.errors import SnapshotError
from tests.unit.cluster.convert.raw import converted, pod_json

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
