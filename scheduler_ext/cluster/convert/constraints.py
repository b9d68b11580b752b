"""A pod's inter-pod constraints: required pod affinity and anti-affinity terms and
``DoNotSchedule`` topology spread constraints, as kube-scheduler reads them once the API server
has admitted the pod.

They decide where a pod may land relative to other pods, so each is read to the exact rule of the
Kubernetes v1.36 source (cited per function) and then kept as one value (``PodAffinityTerm``,
``SpreadConstraint``): ``matchLabelKeys`` and ``mismatchLabelKeys`` are folded into the label
selector here, as the API server does at admission, so no later layer needs the pod's labels to
know what a term selects. Values the API server's validation refuses (no topology key, a
non-positive ``maxSkew``, an unknown policy, ...) are a ``SnapshotError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler_ext.cluster.convert.reading import Reader
from scheduler_ext.cluster.convert.selectors import label_selector
from scheduler_ext.domain import (
    LabelItems,
    LabelSelector,
    PodAffinityTerm,
    Requirement,
    SpreadConstraint,
)

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_SCHEDULE_ACTIONS = frozenset({"DoNotSchedule", "ScheduleAnyway"})
_INCLUSION_POLICIES = frozenset({"Honor", "Ignore"})
PREEMPTION_POLICIES = frozenset({"Never", "PreemptLowerPriority"})


def _fold_label_keys(
    reader: Reader,
    selector: LabelSelector | None,
    raw: Mapping[str, Any],
    where: str,
    labels: LabelItems,
    *,
    mismatch: bool,
) -> LabelSelector | None:
    """``selector`` with ``matchLabelKeys`` (key In (value)) and, for affinity terms,
    ``mismatchLabelKeys`` (key NotIn (value)) folded in, for the keys the pod carries.

    ``pkg/registry/core/pod/strategy.go``, ``applyLabelKeysToLabelSelector`` (called at create
    by ``mutatePodAffinity`` and ``mutateTopologySpreadConstraints``): keys the pod lacks add
    nothing; a nil selector stays nil (it matches no pod). A requirement already present (a pod
    read back from the API server, which has merged them) is not added twice. Validation
    (``ValidateMatchLabelKeysAndMismatchLabelKeys``) refuses the keys without a selector and a
    key in both lists.
    """
    match_keys = reader.strings(raw.get("matchLabelKeys"), f"{where}.matchLabelKeys")
    mismatch_keys = (
        reader.strings(raw.get("mismatchLabelKeys"), f"{where}.mismatchLabelKeys")
        if mismatch
        else ()
    )
    if not match_keys and not mismatch_keys:
        return selector
    if selector is None:
        field = "matchLabelKeys" if match_keys else "mismatchLabelKeys"
        reader.fail(f"{where}.{field}", "must not be specified when labelSelector is not set")
    both = set(match_keys).intersection(mismatch_keys)
    if both:
        reader.fail(
            f"{where}.matchLabelKeys",
            f"{sorted(both)[0]!r} exists in both matchLabelKeys and mismatchLabelKeys",
        )
    have = dict(labels)
    expressions = list(selector.match_expressions)
    for keys, operator in ((match_keys, "In"), (mismatch_keys, "NotIn")):
        for key in keys:
            if key in have:
                requirement = Requirement(key, operator, (have[key],))
                if requirement not in expressions:
                    expressions.append(requirement)
    return LabelSelector(selector.match_labels, tuple(expressions))


def affinity_terms(
    reader: Reader, affinity: Mapping[str, Any], kind: str, labels: LabelItems
) -> tuple[tuple[PodAffinityTerm, ...], int | None]:
    """The required terms of ``spec.affinity.<kind>`` (podAffinity or podAntiAffinity).

    Returns the terms and the index of the first declared term
    without a label selector (None if none). kube-scheduler reads a nil ``labelSelector`` as
    ``labels.Nothing()`` (``metav1.LabelSelectorAsSelector`` in ``newAffinityTerm``,
    k8s.io/kube-scheduler/framework/types.go): such an anti-affinity term keeps nothing out and is
    dropped; such an affinity term is never satisfied (and the pod does not match it itself, so
    the first-pod rule cannot help), which the caller reports. Empty ``namespaces`` and no
    ``namespaceSelector`` mean the pod's own namespace (``getNamespacesFromPodAffinityTerm``);
    that is left to the readers of ``PodAffinityTerm``.
    """
    path = f"spec.affinity.{kind}"
    section = reader.mapping(affinity.get(kind), path)
    path += f".{REQUIRED}"
    raw_terms = reader.items(section.get(REQUIRED), path)
    terms = []
    no_selector: int | None = None
    for i, raw in enumerate(raw_terms):
        where = f"{path}[{i}]"
        term = reader.mapping(raw, where)
        selector = label_selector(reader, term.get("labelSelector"), f"{where}.labelSelector")
        # validatePodAffinityTerm: the topology key is required.
        topology_key = reader.required_string(term.get("topologyKey"), f"{where}.topologyKey")
        namespaces = reader.strings(term.get("namespaces"), f"{where}.namespaces")
        namespace_selector = label_selector(
            reader, term.get("namespaceSelector"), f"{where}.namespaceSelector"
        )
        selector = _fold_label_keys(reader, selector, term, where, labels, mismatch=True)
        if selector is None:
            if no_selector is None:
                no_selector = i
            continue
        terms.append(
            PodAffinityTerm(
                selector=selector,
                topology_key=topology_key,
                namespaces=namespaces,
                namespace_selector=namespace_selector,
            )
        )
    return tuple(terms), no_selector


def _positive(reader: Reader, value: object, path: str, default: int | None) -> int:
    """A positive integer field (``ValidatePositiveField``); ``default`` when absent."""
    if value is None and default is not None:
        return default
    if value is None:
        reader.fail(path, "missing")
    amount = reader.integer(value, path)
    if amount <= 0:
        reader.fail(path, f"must be greater than zero, got {amount}")
    return amount


def _policy(reader: Reader, value: object, path: str, default: str) -> bool:
    """A node inclusion policy (``validateNodeInclusionPolicy``): True for Honor."""
    policy = reader.string(value, path) if value is not None else default
    if policy not in _INCLUSION_POLICIES:
        reader.fail(path, f"unsupported value {policy!r}: expected Honor or Ignore")
    return policy == "Honor"


def _spread_constraint(
    reader: Reader, raw: object, where: str, labels: LabelItems
) -> tuple[str, SpreadConstraint]:
    """One ``topologySpreadConstraints`` entry: its ``whenUnsatisfiable`` and the constraint."""
    constraint = reader.mapping(raw, where)
    # validateTopologySpreadConstraints (pkg/apis/core/validation/validation.go).
    action = reader.string(constraint.get("whenUnsatisfiable"), f"{where}.whenUnsatisfiable")
    if action not in _SCHEDULE_ACTIONS:
        reader.fail(
            f"{where}.whenUnsatisfiable",
            f"unsupported value {action!r}: expected DoNotSchedule or ScheduleAnyway",
        )
    max_skew = _positive(reader, constraint.get("maxSkew"), f"{where}.maxSkew", None)
    topology_key = reader.required_string(constraint.get("topologyKey"), f"{where}.topologyKey")
    raw_min = constraint.get("minDomains")
    if raw_min is not None and action != "DoNotSchedule":
        reader.fail(
            f"{where}.minDomains", "can only use minDomains if whenUnsatisfiable=DoNotSchedule"
        )
    # podtopologyspread/common.go, filterTopologySpreadConstraints: minDomains nil is 1,
    # nodeAffinityPolicy nil is Honor, nodeTaintsPolicy nil is Ignore.
    min_domains = _positive(reader, raw_min, f"{where}.minDomains", 1)
    honor_affinity = _policy(
        reader, constraint.get("nodeAffinityPolicy"), f"{where}.nodeAffinityPolicy", "Honor"
    )
    honor_taints = _policy(
        reader, constraint.get("nodeTaintsPolicy"), f"{where}.nodeTaintsPolicy", "Ignore"
    )
    selector = label_selector(reader, constraint.get("labelSelector"), f"{where}.labelSelector")
    selector = _fold_label_keys(reader, selector, constraint, where, labels, mismatch=False)
    if selector == LabelSelector():
        # countPodsMatchSelector (podtopologyspread/common.go) counts no pod for an empty
        # selector, and with every count 0 the pod's own match (1) never exceeds maxSkew (>= 1):
        # the constraint then only requires the topology key, exactly as one matching no pod.
        selector = None
    return action, SpreadConstraint(
        max_skew=max_skew,
        topology_key=topology_key,
        selector=selector,
        min_domains=min_domains,
        honor_node_affinity=honor_affinity,
        honor_node_taints=honor_taints,
    )


def spread_constraints(
    reader: Reader, spec: Mapping[str, Any], labels: LabelItems
) -> tuple[SpreadConstraint, ...]:
    """The ``DoNotSchedule`` entries of ``spec.topologySpreadConstraints`` (``ScheduleAnyway``
    ones only score, so PodTopologySpread's filter never reads them); every entry is validated.
    """
    path = "spec.topologySpreadConstraints"
    constraints = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(reader.items(spec.get("topologySpreadConstraints"), path)):
        where = f"{path}[{i}]"
        action, constraint = _spread_constraint(reader, raw, where, labels)
        # ValidateSpreadConstraintNotRepeat: one constraint per {topologyKey, whenUnsatisfiable}.
        pair = (constraint.topology_key, action)
        if pair in seen:
            reader.fail(where, f"duplicate {{topologyKey, whenUnsatisfiable}} {pair}")
        seen.add(pair)
        if action == "DoNotSchedule":
            constraints.append(constraint)
    return tuple(constraints)


def preempts(reader: Reader, spec: Mapping[str, Any], class_preempts: bool | None) -> bool:
    """Whether kube-scheduler may preempt for the pod: ``spec.preemptionPolicy``, else the one
    the Priority admission plugin copies from the pod's PriorityClass at create
    (``plugin/pkg/admission/priority/admission.go``, ``admitPod``; ``class_preempts``, None when
    no class decided); a class without one is defaulted to PreemptLowerPriority
    (``pkg/apis/scheduling/v1/defaults.go``). Only ``Never`` stops preemption
    (``DefaultPreemption.PodEligibleToPreemptOthers``,
    pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go).
    """
    policy = reader.string(spec.get("preemptionPolicy"), "spec.preemptionPolicy")
    if not policy:
        return class_preempts is not False
    if policy not in PREEMPTION_POLICIES:
        reader.fail(
            "spec.preemptionPolicy",
            f"unsupported value {policy!r}: expected Never or PreemptLowerPriority",
        )
    return policy != "Never"
