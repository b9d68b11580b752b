"""Selectors and the node-side constraints pods and budgets declare: label selectors, requirements,
required node affinity (node selector terms) and tolerations.

These shapes are shared by several kinds (a PodDisruptionBudget's selector, a pod's anti-affinity
terms and node affinity), so they are read in one place; what a missing or empty one means is
kept exactly as the API defines it (documented per function), since the planner's eligibility
rules depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler_ext.cluster.convert.reading import Cache, Reader
from scheduler_ext.domain import LabelSelector, NodeSelectorTerm, Requirement, Toleration

_Key = tuple[Any, ...]
# The pods of one workload share their tolerations: keyed by an exact frozen copy of the JSON.
_TOLERATIONS: Cache[_Key, tuple[Toleration, ...]] = Cache(50_000)


_LABEL_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_NODE_OPERATORS = (*_LABEL_OPERATORS, "Gt", "Lt")
_FIELD_OPERATORS = ("In", "NotIn")


def _check_values(reader: Reader, req: Requirement, where: str, *, field: bool) -> None:
    """The value count each operator takes, as the API server validates it: label selectors in
    ``metav1.LabelSelectorAsSelector``/``labels.NewRequirement`` (apimachinery), node selector
    terms in ``ValidateNodeSelectorRequirement``/``ValidateNodeFieldSelectorRequirement``
    (pkg/apis/core/validation/validation.go)."""
    count = len(req.values)
    if field and req.key != "metadata.name":
        reader.fail(f"{where}.key", f"{req.key!r} is not a valid field selector key")
    if field and count != 1:
        reader.fail(f"{where}.values", f"operator {req.operator} takes exactly one value")
    if req.operator in ("In", "NotIn") and count == 0:
        reader.fail(f"{where}.values", f"must be specified when operator is {req.operator}")
    if req.operator in ("Exists", "DoesNotExist") and count:
        reader.fail(f"{where}.values", f"may not be specified when operator is {req.operator}")
    if req.operator in ("Gt", "Lt") and count != 1:
        reader.fail(f"{where}.values", f"operator {req.operator} takes exactly one value")


def requirements(
    reader: Reader, value: object, path: str, operators: tuple[str, ...] = _LABEL_OPERATORS
) -> tuple[Requirement, ...]:
    """``matchExpressions`` (or ``matchFields``) entries; an operator outside ``operators`` or a
    wrong number of values is a SnapshotError, as the API server refuses them."""
    result = []
    for i, raw in enumerate(reader.items(value, path)):
        where = f"{path}[{i}]"
        expr = reader.mapping(raw, where)
        requirement = Requirement(
            key=reader.string(expr.get("key"), f"{where}.key"),
            operator=reader.required_string(expr.get("operator"), f"{where}.operator"),
            values=reader.strings(expr.get("values"), f"{where}.values"),
        )
        if requirement.operator not in operators:
            reader.fail(
                f"{where}.operator",
                f"{requirement.operator!r} is not a valid selector operator "
                f"(expected {', '.join(operators)})",
            )
        _check_values(reader, requirement, where, field=operators is _FIELD_OPERATORS)
        result.append(requirement)
    return tuple(result)


def label_selector(reader: Reader, value: object, path: str) -> LabelSelector | None:
    """A metav1.LabelSelector; None when absent (callers decide what a missing selector means)."""
    if value is None:
        return None
    selector = reader.mapping(value, path)
    return LabelSelector(
        match_labels=reader.labels(selector.get("matchLabels"), f"{path}.matchLabels"),
        match_expressions=requirements(
            reader, selector.get("matchExpressions"), f"{path}.matchExpressions"
        ),
    )


def required_node_affinity(
    reader: Reader, affinity: Mapping[str, Any]
) -> tuple[NodeSelectorTerm, ...]:
    """The required node selector terms (ORed); () when the pod requires none."""
    path = "spec.affinity.nodeAffinity"
    node_affinity = reader.mapping(affinity.get("nodeAffinity"), path)
    required_raw = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required_raw is None:
        return ()
    path += ".requiredDuringSchedulingIgnoredDuringExecution"
    required = reader.mapping(required_raw, path)
    path += ".nodeSelectorTerms"
    terms = []
    for i, raw in enumerate(reader.items(required.get("nodeSelectorTerms"), path)):
        where = f"{path}[{i}]"
        term = reader.mapping(raw, where)
        terms.append(
            NodeSelectorTerm(
                match_expressions=requirements(
                    reader,
                    term.get("matchExpressions"),
                    f"{where}.matchExpressions",
                    _NODE_OPERATORS,
                ),
                match_fields=requirements(
                    reader, term.get("matchFields"), f"{where}.matchFields", _FIELD_OPERATORS
                ),
            )
        )
    # A required node selector with no terms matches no node; an empty term says the same.
    return tuple(terms) or (NodeSelectorTerm(),)


def _tolerations_key(raw: object) -> _Key | None:
    """A cache key for ``spec.tolerations``; the fields that matter are strings, so equality of
    the key means equality of the converted tolerations (or None when something is unusual)."""
    if type(raw) is not list:
        return None
    key = []
    for toleration in raw:
        if type(toleration) is not dict:
            return None
        key.append(tuple(toleration.items()))
    try:
        hash(tuple(key))
    except TypeError:
        return None
    return tuple(key)


def tolerations(reader: Reader, spec: Mapping[str, Any]) -> tuple[Toleration, ...]:
    """``spec.tolerations``; an operator left out is ``Equal``, as the API defaults it."""
    raw_list = spec.get("tolerations")
    if not raw_list:
        return ()
    key = _tolerations_key(raw_list)
    if key is not None:
        cached = _TOLERATIONS.get(key)
        if cached is not None:
            return cached
    result = []
    for i, raw in enumerate(reader.items(raw_list, "spec.tolerations")):
        where = f"spec.tolerations[{i}]"
        toleration = reader.mapping(raw, where)
        result.append(
            Toleration(
                key=reader.string(toleration.get("key"), f"{where}.key"),
                operator=reader.string(toleration.get("operator"), f"{where}.operator") or "Equal",
                value=reader.string(toleration.get("value"), f"{where}.value"),
                effect=reader.string(toleration.get("effect"), f"{where}.effect"),
            )
        )
    converted = tuple(result)
    if key is not None:
        _TOLERATIONS.remember(key, converted)
    return converted
