"""The kinds other than Pod: Nodes, PodDisruptionBudgets, PriorityClasses and Namespaces.

Each is small and read the same way (typed reader, one-line errors); they share a module so that
``pods.py`` holds only the pod's rules. The defaults that matter are the API's: a node without
``allocatable`` offers its ``capacity``, a budget without a status allows no disruption.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler_ext.cluster.convert.reading import KindReader, namespace_of
from scheduler_ext.cluster.convert.requests import rounded
from scheduler_ext.cluster.convert.selectors import label_selector
from scheduler_ext.cluster.kinds import Kind
from scheduler_ext.domain import (
    DisruptionBudget,
    LabelSelector,
    Namespace,
    Node,
    PriorityClass,
    Taint,
)

_NODES = KindReader(Kind.NODE)
_BUDGETS = KindReader(Kind.POD_DISRUPTION_BUDGET)
_PRIORITY_CLASSES = KindReader(Kind.PRIORITY_CLASS)
_NAMESPACES = KindReader(Kind.NAMESPACE)


def node_from(obj: Mapping[str, Any]) -> Node:
    """A Node: allocatable (capacity if allocatable is absent), readiness, taints, labels."""
    reader, meta = _NODES.open(obj)
    spec = reader.mapping(obj.get("spec"), "spec")
    status = reader.mapping(obj.get("status"), "status")
    allocatable = status.get("allocatable")
    path = "status.allocatable"
    if not allocatable:
        allocatable, path = status.get("capacity"), "status.capacity"
    if not allocatable:
        reader.fail("status.allocatable", "missing")
    ready = False
    conditions = reader.items(status.get("conditions"), "status.conditions")
    for i, raw in enumerate(conditions):
        condition = reader.mapping(raw, f"status.conditions[{i}]")
        if condition.get("type") == "Ready":
            ready = condition.get("status") == "True"
    taints = []
    for i, raw in enumerate(reader.items(spec.get("taints"), "spec.taints")):
        where = f"spec.taints[{i}]"
        taint = reader.mapping(raw, where)
        taints.append(
            Taint(
                key=reader.required_string(taint.get("key"), f"{where}.key"),
                value=reader.string(taint.get("value"), f"{where}.value"),
                effect=reader.required_string(taint.get("effect"), f"{where}.effect"),
            )
        )
    return Node(
        name=meta["name"],
        allocatable=rounded(reader.resources(allocatable, path)),
        labels=reader.labels(meta.get("labels"), "metadata.labels"),
        taints=tuple(taints),
        unschedulable=reader.boolean(spec.get("unschedulable"), "spec.unschedulable"),
        ready=ready,
    )


def budget_from(obj: Mapping[str, Any]) -> DisruptionBudget:
    """A policy/v1 PodDisruptionBudget; a missing status allows no disruption.

    policy/v1beta1 (removed in 1.25) read an empty selector as "no pod"; policy/v1 as "every pod in
    the namespace". Both are honoured by apiVersion. Kept besides ``disruptionsAllowed``: what the
    Eviction API checks before it lets a disruption through (``checkAndDecrement`` in
    pkg/registry/core/pod/storage/eviction.go): ``status.observedGeneration`` against
    ``metadata.generation`` (behind: 429) and the number of ``status.disruptedPods`` (the
    evictions the disruption controller has not confirmed yet; over 2,000: 403).
    """
    reader, meta = _BUDGETS.open(obj)
    spec = reader.mapping(obj.get("spec"), "spec")
    status = reader.mapping(obj.get("status"), "status")
    selector = label_selector(reader, spec.get("selector"), "spec.selector")
    if obj.get("apiVersion") == "policy/v1beta1" and selector == LabelSelector():
        selector = None
    disrupted = reader.mapping(status.get("disruptedPods"), "status.disruptedPods")
    return DisruptionBudget(
        namespace=namespace_of(reader, meta),
        name=meta["name"],
        selector=selector,
        disruptions_allowed=reader.integer(
            status.get("disruptionsAllowed"), "status.disruptionsAllowed"
        ),
        generation=reader.integer(meta.get("generation"), "metadata.generation"),
        observed_generation=reader.integer(
            status.get("observedGeneration"), "status.observedGeneration"
        ),
        disrupted_pods=len(disrupted),
    )


def priority_class_from(obj: Mapping[str, Any]) -> PriorityClass:
    reader, meta = _PRIORITY_CLASSES.open(obj)
    value = obj.get("value")
    if value is None:
        reader.fail("value", "missing")
    return PriorityClass(
        name=meta["name"],
        value=reader.integer(value, "value"),
        global_default=reader.boolean(obj.get("globalDefault"), "globalDefault"),
    )


def namespace_from(obj: Mapping[str, Any]) -> Namespace:
    reader, meta = _NAMESPACES.open(obj)
    return Namespace(name=meta["name"], labels=reader.labels(meta.get("labels"), "metadata.labels"))
