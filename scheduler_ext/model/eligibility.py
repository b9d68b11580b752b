"""Which nodes a pod may use at all, decided as kube-scheduler's static filters decide it.

A plan is only worth something if kube-scheduler would accept every placement in it, so these rules
copy the upstream semantics rather than approximate them: NodeUnschedulable, node readiness,
TaintToleration (``Toleration.ToleratesTaint``), NodeAffinity (``nodeSelector`` plus required node
affinity, via ``labels.Requirement.Matches`` and the node field selector), ``metav1.LabelSelector``
for budgets and pod anti-affinity. Where the API server would reject a selector (``In`` with no
values, ``Gt`` with a non-integer), the scheduler treats the term as unmatched, and so do we.

Capacity, host ports and inter-pod constraints between *placed* pods are the model's business; this
module answers questions about one pod and one node (or one pair of pods).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from scheduler_ext.domain import (
    DisruptionBudget,
    LabelItems,
    LabelSelector,
    Node,
    NodeSelectorTerm,
    Pod,
    Requirement,
    Taint,
    Toleration,
)

UNSCHEDULABLE_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
NOT_READY_TAINT = Taint(key="node.kubernetes.io/not-ready", effect="NoSchedule")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # the API server sets it on every namespace

REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NOT_READY = "node(s) were not ready"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"

_FILTERED_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
_INT64 = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """``v1.Toleration.ToleratesTaint``: empty effect and empty key are wildcards."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return toleration.operator == "Exists"


def _tolerated(pod: Pod, taint: Taint) -> bool:
    return any(tolerates(toleration, taint) for toleration in pod.tolerations)


def untolerated_taint(pod: Pod, node: Node) -> Taint | None:
    """The first NoSchedule/NoExecute taint of the node the pod does not tolerate, if any."""
    for taint in node.taints:
        if taint.effect in _FILTERED_EFFECTS and not _tolerated(pod, taint):
            return taint
    return None


def _parse_int64(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``; None where Go returns an error."""
    if _INT64.fullmatch(text) is None:
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _valid(requirement: Requirement, *, node_operators: bool) -> bool:
    """Would ``labels.NewRequirement`` accept it? Invalid requirements match nothing."""
    operator, values = requirement.operator, requirement.values
    if operator in ("In", "NotIn"):
        return bool(values)
    if operator in ("Exists", "DoesNotExist"):
        return not values
    if node_operators and operator in ("Gt", "Lt"):
        return len(values) == 1 and _parse_int64(values[0]) is not None
    return False


def requirement_matches(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    """``labels.Requirement.Matches`` for a requirement already known to be valid."""
    operator = requirement.operator
    present = requirement.key in labels
    if operator == "In":
        return present and labels[requirement.key] in requirement.values
    if operator == "NotIn":
        return not present or labels[requirement.key] not in requirement.values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present:
        actual = _parse_int64(labels[requirement.key])
        bound = _parse_int64(requirement.values[0])
        if actual is None or bound is None:
            return False
        return actual > bound if operator == "Gt" else actual < bound
    return False


def _field_matches(requirement: Requirement, node: Node) -> bool | None:
    """A ``matchFields`` entry (only ``metadata.name``, In/NotIn, one value); None if invalid."""
    if requirement.key != "metadata.name" or len(requirement.values) != 1:
        return None
    if requirement.operator == "In":
        return node.name == requirement.values[0]
    if requirement.operator == "NotIn":
        return node.name != requirement.values[0]
    return None


def term_matches(term: NodeSelectorTerm, node: Node, labels: Mapping[str, str]) -> bool:
    """One node selector term: its requirements ANDed; an empty or invalid term matches nothing."""
    if not term.match_expressions and not term.match_fields:
        return False
    for requirement in term.match_expressions:
        if not _valid(requirement, node_operators=True):
            return False
    matched = True
    for requirement in term.match_fields:
        result = _field_matches(requirement, node)
        if result is None:
            return False  # a parse error fails the whole term, even after a mismatch
        matched = matched and result
    return matched and all(
        requirement_matches(requirement, labels) for requirement in term.match_expressions
    )


def node_affinity_matches(pod: Pod, node: Node) -> bool:
    """NodeAffinity's Filter: every nodeSelector label, and one of the required terms."""
    labels = dict(node.labels)
    for key, value in pod.node_selector:
        if labels.get(key) != value:
            return False
    if not pod.required_node_affinity:
        return True
    return any(term_matches(term, node, labels) for term in pod.required_node_affinity)


def static_reject_reason(pod: Pod, node: Node) -> str | None:
    """Why kube-scheduler's static filters reject ``node`` for ``pod``; None if they all pass.

    Filters run in kube-scheduler's order and the first failure is reported. Readiness is checked
    as the ``node.kubernetes.io/not-ready:NoSchedule`` taint the node lifecycle controller puts on
    a node that is not Ready, so a pod tolerating that taint may use it (as upstream).
    """
    if node.unschedulable and not _tolerated(pod, UNSCHEDULABLE_TAINT):
        return REASON_UNSCHEDULABLE
    if not node.ready and not _tolerated(pod, NOT_READY_TAINT):
        return REASON_NOT_READY
    taint = untolerated_taint(pod, node)
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
    if not node_affinity_matches(pod, node):
        return REASON_AFFINITY
    return None


def selector_matches(selector: LabelSelector, labels: LabelItems) -> bool:
    """``metav1.LabelSelectorAsSelector(selector).Matches(labels)``; an empty selector matches all.

    A selector the API server would reject (unknown operator, In without values) matches nothing.
    """
    if not selector.match_labels and not selector.match_expressions:
        return True
    present = dict(labels)
    for key, value in selector.match_labels:
        if present.get(key) != value:
            return False
    for requirement in selector.match_expressions:
        if not _valid(requirement, node_operators=False):
            return False
    return all(requirement_matches(r, present) for r in selector.match_expressions)


def budget_covers(budget: DisruptionBudget, pod: Pod) -> bool:
    """policy/v1: same namespace and the selector matches; no selector means no pod."""
    if budget.selector is None or budget.namespace != pod.namespace:
        return False
    return selector_matches(budget.selector, pod.labels)


def _namespace_labels(namespaces: Mapping[str, LabelItems], name: str) -> LabelItems:
    labels = dict(namespaces.get(name, ()))
    labels.setdefault(NAMESPACE_NAME_LABEL, name)
    return tuple(sorted(labels.items()))


def anti_affinity_blocks(
    incoming: Pod,
    running: Pod,
    running_node: Node,
    candidate: Node,
    namespaces: Mapping[str, LabelItems],
) -> bool:
    """Does a required anti-affinity term of ``running`` (on ``running_node``) keep ``incoming``
    off ``candidate``?

    A term applies to pods of the namespaces it lists plus those its namespaceSelector selects
    (``{}`` selects every namespace); with neither, to the running pod's own namespace. It blocks
    when it selects ``incoming`` and both nodes carry the same value of its topology key. The
    caller decides whether ``incoming`` and ``running`` are the same pod.
    """
    candidate_labels = dict(candidate.labels)
    running_labels = dict(running_node.labels)
    for term in running.anti_affinity:
        domain = running_labels.get(term.topology_key)
        if domain is None or candidate_labels.get(term.topology_key) != domain:
            continue
        if not term.namespaces and term.namespace_selector is None:
            in_scope = incoming.namespace == running.namespace
        else:
            in_scope = incoming.namespace in term.namespaces or (
                term.namespace_selector is not None
                and selector_matches(
                    term.namespace_selector, _namespace_labels(namespaces, incoming.namespace)
                )
            )
        if in_scope and selector_matches(term.selector, incoming.labels):
            return True
    return False
