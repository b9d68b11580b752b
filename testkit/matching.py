"""Label, node and taint matching for the independent checker, re-derived from the Kubernetes API
definitions (never from the planner's own helpers, see ``testkit/checker.py``).

The checker's single-pod rules and its inter-pod rules (``testkit/interpod.py``) both match
selectors against labels and pods against nodes; they share these functions, which mirror
``metav1.LabelSelector``, ``v1.NodeSelector`` and ``v1.Toleration`` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

from scheduler_ext.domain import (
    LabelItems,
    LabelSelector,
    Node,
    NodeSelectorTerm,
    Pod,
    Requirement,
    Taint,
    Toleration,
)


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """``v1.Toleration.ToleratesTaint``."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return False


def requirement_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    present = req.key in labels
    value = labels.get(req.key, "")
    if req.operator == "In":
        return present and value in req.values
    if req.operator == "NotIn":
        return not present or value not in req.values
    if req.operator == "Exists":
        return present
    if req.operator == "DoesNotExist":
        return not present
    if req.operator in ("Gt", "Lt") and present and len(req.values) == 1:
        try:
            have, want = int(value), int(req.values[0])
        except ValueError:
            return False
        return have > want if req.operator == "Gt" else have < want
    return False


def node_term_matches(term: NodeSelectorTerm, node: Node) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False  # an empty term matches no node
    labels = dict(node.labels)
    fields = {"metadata.name": node.name}
    return all(requirement_matches(r, labels) for r in term.match_expressions) and all(
        requirement_matches(r, fields) for r in term.match_fields
    )


def selector_matches(selector: LabelSelector, labels: LabelItems) -> bool:
    """``metav1.LabelSelector``: every label and expression must hold; empty matches all."""
    have = dict(labels)
    return all(have.get(k) == v for k, v in selector.match_labels) and all(
        requirement_matches(r, have) for r in selector.match_expressions
    )


def node_affinity_matches(pod: Pod, node: Node) -> bool:
    """``nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)``: the nodeSelector and the
    required node affinity terms (ORed) both allow ``node``."""
    labels = dict(node.labels)
    if any(labels.get(key) != value for key, value in pod.node_selector):
        return False
    return not pod.required_node_affinity or any(
        node_term_matches(term, node) for term in pod.required_node_affinity
    )


def untolerated_taint(pod: Pod, node: Node) -> Taint | None:
    """A NoSchedule or NoExecute taint of ``node.taints`` that ``pod`` does not tolerate
    (``FindMatchingUntoleratedTaint`` with ``DoNotScheduleTaintsFilterFunc``), or None."""
    for taint in node.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not any(
            tolerates(t, taint) for t in pod.tolerations
        ):
            return taint
    return None
