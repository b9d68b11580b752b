"""Inter-pod terms whose ``namespaceSelector`` a snapshot cannot evaluate, and the pods they
leave the planner unable to place safely.

A term's ``namespaceSelector`` selects namespaces by their labels, which only Namespace objects
carry. kube-scheduler reads them from its namespace lister: for the incoming pod's own terms it
lists the namespaces the selector matches (``mergeAffinityTermNamespacesIfNotEmpty``), for the
terms of running pods it reads the incoming pod's namespace labels
(``GetNamespaceLabelsSnapshot``), both in
pkg/scheduler/framework/plugins/interpodaffinity/{plugin,filtering}.go. A snapshot without the
Namespace of some pod's namespace (``kubectl get nodes,pods,...`` without ``namespaces``) does not
know those labels, and guessing "no labels" places pods next to pods that forbid them. So such a
term is unknown, and conservatively:

- the pod carrying it is left unplanned (pending) or never moved (running), with that reason;
- when a running pod carries it in its anti-affinity, every pod of an unlisted namespace its
  label selector matches (and its ``namespaces`` do not already name) could be kept out of the
  carrier's domain or not: those pods are left unplanned or never moved too.

An empty selector (``{}``) matches every namespace whatever its labels, so it is always known
(``labels.Everything``; the merge is skipped for it), as is a term whose carrier and candidate
pods all live in listed namespaces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from scheduler_ext.domain import LabelItems, LabelSelector, Namespace, Pod, PodAffinityTerm


def _matches(selector: LabelSelector, labels: LabelItems) -> bool:
    """``metav1.LabelSelector`` semantics over a pod's labels (validated operators only)."""
    have = dict(labels)
    if any(have.get(key) != value for key, value in selector.match_labels):
        return False
    for req in selector.match_expressions:
        present = req.key in have
        if req.operator == "In" and not (present and have[req.key] in req.values):
            return False
        if req.operator == "NotIn" and present and have[req.key] in req.values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


def _unknown(term: PodAffinityTerm) -> bool:
    return term.namespace_selector is not None and term.namespace_selector != LabelSelector()


def _with_reason(pod: Pod, reason: str) -> Pod:
    unmodelled = f"{pod.unmodelled}, {reason}" if pod.unmodelled else reason
    return dataclasses.replace(pod, unmodelled=unmodelled)


def mark_unknown_namespace_selectors(
    pods: Sequence[Pod], namespaces: Iterable[Namespace]
) -> list[Pod]:
    """``pods`` with the unknown terms' carriers and the pods they could concern marked
    ``unmodelled`` (see the module docstring); unchanged when every pod's namespace is listed."""
    listed = {ns.name for ns in namespaces}
    unlisted = sorted({pod.namespace for pod in pods} - listed)
    if not unlisted:
        return list(pods)
    missing = ", ".join(unlisted[:3]) + (", ..." if len(unlisted) > 3 else "")
    carrier_reason = (
        "a pod affinity or anti-affinity namespaceSelector the snapshot cannot evaluate "
        f"(no Namespace object for {missing})"
    )
    guards: list[tuple[Pod, PodAffinityTerm]] = []
    result = []
    for pod in pods:
        unknown = [t for t in (*pod.affinity, *pod.anti_affinity) if _unknown(t)]
        if unknown:
            pod = _with_reason(pod, carrier_reason)
            if pod.node_name is not None:
                guards.extend((pod, t) for t in pod.anti_affinity if _unknown(t))
        result.append(pod)
    if not guards:
        return result
    unlisted_set = set(unlisted)
    for i, pod in enumerate(result):
        if pod.namespace not in unlisted_set:
            continue
        for guard, term in guards:
            if guard.key == pod.key or pod.namespace in term.namespaces:
                continue
            if _matches(term.selector, pod.labels):
                result[i] = _with_reason(
                    pod,
                    f"the anti-affinity of {guard.key} may select it through a namespaceSelector "
                    f"the snapshot cannot evaluate (no Namespace object for {pod.namespace})",
                )
                break
    return result
