"""Static filters reject exactly the nodes kube-scheduler's filters reject, with its reasons."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from scheduler_ext.domain import (
    DisruptionBudget,
    LabelSelector,
    Node,
    NodeSelectorTerm,
    Pod,
    PodAntiAffinityTerm,
    Requirement,
    Taint,
    Toleration,
)
from scheduler_ext.model.eligibility import (
    anti_affinity_blocks,
    budget_covers,
    selector_matches,
    static_reject_reason,
    tolerates,
)
from testkit.factories import labels, node, pod

AFFINITY = "node(s) didn't match Pod's node affinity/selector"


# --- taints and tolerations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        pytest.param(
            Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "v"), True, id="equal"
        ),
        pytest.param(
            Toleration("k", "Equal", "x", "NoSchedule"), Taint("k", "v"), False, id="value"
        ),
        pytest.param(Toleration("k", "", "v"), Taint("k", "v"), True, id="empty-operator-is-equal"),
        pytest.param(Toleration("k", "Equal", ""), Taint("k", ""), True, id="equal-empty-values"),
        pytest.param(Toleration("k", "Exists"), Taint("k", "anything"), True, id="exists"),
        pytest.param(Toleration("j", "Exists"), Taint("k", "v"), False, id="other-key"),
        pytest.param(Toleration("", "Exists"), Taint("k", "v", "NoExecute"), True, id="wildcard"),
        pytest.param(Toleration("", "Equal", "v"), Taint("k", "v"), True, id="empty-key-equal"),
        pytest.param(
            Toleration("k", "Exists", effect="NoExecute"), Taint("k", "v"), False, id="effect"
        ),
        pytest.param(
            Toleration("k", "Exists", effect=""),
            Taint("k", effect="NoExecute"),
            True,
            id="any-effect",
        ),
        pytest.param(Toleration("k", "Gt", "1"), Taint("k", "2"), False, id="unknown-operator"),
    ],
)
def test_tolerates(toleration: Toleration, taint: Taint, expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


@pytest.mark.parametrize(
    ("taints", "tolerations", "reason"),
    [
        pytest.param(
            [Taint("k", "v", "NoSchedule")],
            [],
            "node(s) had untolerated taint {k: v}",
            id="no-schedule",
        ),
        pytest.param(
            [Taint("k", "v", "NoExecute")],
            [],
            "node(s) had untolerated taint {k: v}",
            id="no-execute",
        ),
        pytest.param([Taint("k", "v", "PreferNoSchedule")], [], None, id="prefer-is-not-a-filter"),
        pytest.param([Taint("k", "v")], [Toleration("k", "Exists")], None, id="tolerated"),
        pytest.param(
            [Taint("a", "1"), Taint("b", "", "NoExecute")],
            [Toleration("a", "Equal", "1")],
            "node(s) had untolerated taint {b: }",
            id="first-untolerated-reported",
        ),
    ],
)
def test_taints(taints: list[Taint], tolerations: list[Toleration], reason: str | None) -> None:
    p = pod("p", tolerations=tolerations)
    assert static_reject_reason(p, node("n", taints=taints)) == reason


def test_unschedulable_and_not_ready() -> None:
    plain = pod("p")
    tolerant = pod(
        "q",
        tolerations=[
            Toleration("node.kubernetes.io/unschedulable", "Exists", effect="NoSchedule"),
            Toleration("node.kubernetes.io/not-ready", "Exists"),
        ],
    )
    cordoned = node("n", unschedulable=True)
    down = node("n", ready=False)
    assert static_reject_reason(plain, cordoned) == "node(s) were unschedulable"
    assert static_reject_reason(tolerant, cordoned) is None
    assert static_reject_reason(plain, down) == "node(s) were not ready"
    assert static_reject_reason(tolerant, down) is None
    assert static_reject_reason(plain, node("n")) is None
    both = node("n", unschedulable=True, ready=False, taints=[Taint("k")])
    assert static_reject_reason(plain, both) == "node(s) were unschedulable"


# --- node selector and required node affinity -----------------------------------------------------


def affine(*terms: NodeSelectorTerm, **selector: str) -> Pod:
    return pod("p", node_selector=selector, required_node_affinity=terms)


def expr(key: str, operator: str, *values: str) -> NodeSelectorTerm:
    return NodeSelectorTerm(match_expressions=(Requirement(key, operator, values),))


def field(operator: str, *values: str, key: str = "metadata.name") -> NodeSelectorTerm:
    return NodeSelectorTerm(match_fields=(Requirement(key, operator, values),))


N1 = node("n1", labels={"zone": "a", "cores": "8", "bad": "8x"})


@pytest.mark.parametrize(
    ("p", "matches"),
    [
        pytest.param(affine(zone="a"), True, id="selector"),
        pytest.param(affine(zone="b"), False, id="selector-value"),
        pytest.param(affine(zone="a", disk="ssd"), False, id="selector-all-labels"),
        pytest.param(affine(expr("zone", "In", "b", "a")), True, id="in"),
        pytest.param(affine(expr("zone", "In", "b")), False, id="in-other"),
        pytest.param(affine(expr("absent", "In", "a")), False, id="in-absent"),
        pytest.param(affine(expr("zone", "In")), False, id="in-without-values-is-invalid"),
        pytest.param(affine(expr("zone", "NotIn", "b")), True, id="not-in"),
        pytest.param(affine(expr("zone", "NotIn", "a")), False, id="not-in-same"),
        pytest.param(affine(expr("absent", "NotIn", "a")), True, id="not-in-absent"),
        pytest.param(affine(expr("zone", "Exists")), True, id="exists"),
        pytest.param(affine(expr("absent", "Exists")), False, id="exists-absent"),
        pytest.param(affine(expr("zone", "Exists", "a")), False, id="exists-with-values-invalid"),
        pytest.param(affine(expr("absent", "DoesNotExist")), True, id="does-not-exist"),
        pytest.param(affine(expr("zone", "DoesNotExist")), False, id="does-not-exist-present"),
        pytest.param(affine(expr("cores", "Gt", "4")), True, id="gt"),
        pytest.param(affine(expr("cores", "Gt", "8")), False, id="gt-equal"),
        pytest.param(affine(expr("cores", "Lt", "16")), True, id="lt"),
        pytest.param(affine(expr("cores", "Lt", "+8")), False, id="lt-equal-signed"),
        pytest.param(affine(expr("cores", "Gt", "-1")), True, id="gt-negative"),
        pytest.param(affine(expr("bad", "Gt", "1")), False, id="gt-non-integer-label"),
        pytest.param(affine(expr("absent", "Lt", "1")), False, id="lt-absent"),
        pytest.param(affine(expr("cores", "Gt", "4.5")), False, id="gt-non-integer-value"),
        pytest.param(affine(expr("cores", "Gt", "1", "2")), False, id="gt-two-values"),
        pytest.param(affine(expr("zone", "Equals", "a")), False, id="unknown-operator"),
        pytest.param(affine(field("In", "n1")), True, id="field-in"),
        pytest.param(affine(field("In", "n2")), False, id="field-in-other"),
        pytest.param(affine(field("NotIn", "n2")), True, id="field-not-in"),
        pytest.param(affine(field("NotIn", "n1")), False, id="field-not-in-same"),
        pytest.param(affine(field("In", "n1", "n2")), False, id="field-two-values-invalid"),
        pytest.param(affine(field("Exists")), False, id="field-exists-unsupported"),
        pytest.param(affine(field("In", "a", key="metadata.labels")), False, id="field-other-key"),
        pytest.param(affine(NodeSelectorTerm()), False, id="empty-term-matches-nothing"),
        pytest.param(
            affine(NodeSelectorTerm(), expr("zone", "In", "a")), True, id="terms-are-ored"
        ),
        pytest.param(
            affine(expr("zone", "In", "b"), field("In", "n1")), True, id="field-term-ored"
        ),
        pytest.param(
            affine(
                NodeSelectorTerm(
                    match_expressions=(
                        Requirement("zone", "In", ("a",)),
                        Requirement("cores", "Gt", ("9",)),
                    )
                )
            ),
            False,
            id="expressions-are-anded",
        ),
        pytest.param(
            affine(
                NodeSelectorTerm(
                    match_expressions=(Requirement("zone", "In", ("a",)),),
                    match_fields=(Requirement("metadata.name", "In", ("n2",)),),
                )
            ),
            False,
            id="fields-and-expressions-anded",
        ),
        pytest.param(
            affine(expr("zone", "In", "a"), zone="b"), False, id="selector-and-affinity-anded"
        ),
    ],
)
def test_node_affinity(p: Pod, matches: bool) -> None:
    assert static_reject_reason(p, N1) == (None if matches else AFFINITY)


# --- label selectors and budgets ------------------------------------------------------------------


def sel(match_labels: Mapping[str, str] | None = None, *exprs: Requirement) -> LabelSelector:
    return LabelSelector(match_labels=labels(**(match_labels or {})), match_expressions=exprs)


POD_LABELS = labels(app="web", tier="front")


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        pytest.param(sel(), True, id="empty-matches-all"),
        pytest.param(sel({"app": "web"}), True, id="match-labels"),
        pytest.param(sel({"app": "web", "tier": "back"}), False, id="match-labels-all"),
        pytest.param(sel({}, Requirement("tier", "In", ("front", "x"))), True, id="in"),
        pytest.param(sel({}, Requirement("tier", "NotIn", ("front",))), False, id="not-in"),
        pytest.param(sel({}, Requirement("x", "NotIn", ("front",))), True, id="not-in-absent"),
        pytest.param(sel({}, Requirement("app", "Exists")), True, id="exists"),
        pytest.param(sel({}, Requirement("app", "DoesNotExist")), False, id="does-not-exist"),
        pytest.param(sel({}, Requirement("app", "In")), False, id="in-without-values-invalid"),
        pytest.param(sel({}, Requirement("n", "Gt", ("1",))), False, id="gt-not-for-labels"),
        pytest.param(sel({"app": "web"}, Requirement("tier", "In", ("back",))), False, id="anded"),
    ],
)
def test_selector_matches(selector: LabelSelector, matches: bool) -> None:
    assert selector_matches(selector, POD_LABELS) is matches


@pytest.mark.parametrize(
    ("budget", "covers"),
    [
        pytest.param(DisruptionBudget("default", "b", sel({"app": "web"}), 1), True, id="match"),
        pytest.param(DisruptionBudget("other", "b", sel({"app": "web"}), 1), False, id="namespace"),
        pytest.param(DisruptionBudget("default", "b", None, 1), False, id="no-selector"),
        pytest.param(DisruptionBudget("default", "b", sel(), 1), True, id="empty-selector"),
        pytest.param(DisruptionBudget("default", "b", sel({"app": "db"}), 1), False, id="labels"),
    ],
)
def test_budget_covers(budget: DisruptionBudget, covers: bool) -> None:
    assert budget_covers(budget, pod("web-1", labels={"app": "web"})) is covers


# --- running pods' anti-affinity ------------------------------------------------------------------

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
A1 = node("a1", labels={ZONE: "a"})
A2 = node("a2", labels={ZONE: "a"})
B1 = node("b1", labels={ZONE: "b"})
NOZONE = node("x1")
NAMESPACES = {"prod": labels(team="x"), "dev": labels(team="y")}


def guard(
    topology: str = ZONE,
    namespaces: tuple[str, ...] = (),
    namespace_selector: LabelSelector | None = None,
    selector: LabelSelector | None = None,
) -> Pod:
    term = PodAntiAffinityTerm(
        selector=selector if selector is not None else sel({"app": "web"}),
        topology_key=topology,
        namespaces=namespaces,
        namespace_selector=namespace_selector,
    )
    return pod("guard-1", node="a1", namespace="prod", anti_affinity=(term,))


def web(namespace: str = "prod", app: str = "web") -> Pod:
    return pod("web-1", namespace=namespace, labels={"app": app})


@pytest.mark.parametrize(
    ("incoming", "running", "running_node", "candidate", "blocks"),
    [
        pytest.param(web(), guard(), A1, A2, True, id="same-zone"),
        pytest.param(web(), guard(), A1, B1, False, id="other-zone"),
        pytest.param(web(), guard(HOST), A1, A2, False, id="hostname-other-node"),
        pytest.param(web(), guard(HOST), A1, A1, True, id="hostname-same-node"),
        pytest.param(web(), guard(), A1, NOZONE, False, id="candidate-lacks-key"),
        pytest.param(web(), guard(), NOZONE, NOZONE, False, id="running-node-lacks-key"),
        pytest.param(web(app="db"), guard(), A1, A2, False, id="selector-mismatch"),
        pytest.param(web("dev"), guard(), A1, A2, False, id="own-namespace-only"),
        pytest.param(web("dev"), guard(namespaces=("dev",)), A1, A2, True, id="listed-namespace"),
        pytest.param(web(), guard(namespaces=("dev",)), A1, A2, False, id="list-replaces-own"),
        pytest.param(
            web("dev"), guard(namespace_selector=sel({"team": "y"})), A1, A2, True, id="ns-selector"
        ),
        pytest.param(
            web("dev"),
            guard(namespace_selector=sel({"team": "x"})),
            A1,
            A2,
            False,
            id="ns-selector-miss",
        ),
        pytest.param(
            web("dev"), guard(namespace_selector=sel()), A1, A2, True, id="ns-selector-all"
        ),
        pytest.param(
            web("unlisted"), guard(namespace_selector=sel()), A1, A2, True, id="ns-all-unknown-ns"
        ),
        pytest.param(
            web("dev"),
            guard(namespace_selector=sel({"kubernetes.io/metadata.name": "dev"})),
            A1,
            A2,
            True,
            id="ns-selector-by-name-label",
        ),
        pytest.param(
            web("dev"),
            guard(namespaces=("other",), namespace_selector=sel({"team": "y"})),
            A1,
            A2,
            True,
            id="namespaces-or-selector",
        ),
        pytest.param(web(), guard(selector=sel()), A1, A2, True, id="empty-selector-all-pods"),
    ],
)
def test_anti_affinity_blocks(
    incoming: Pod, running: Pod, running_node: Node, candidate: Node, blocks: bool
) -> None:
    assert anti_affinity_blocks(incoming, running, running_node, candidate, NAMESPACES) is blocks


def test_pod_without_anti_affinity_blocks_nothing() -> None:
    assert not anti_affinity_blocks(web(), pod("x", node="a1"), A1, A1, NAMESPACES)
