"""Kubernetes JSON objects (as ``kubectl get -o json`` prints them) turned into domain values.

The planner must see what kube-scheduler sees, so this module reproduces the API server's defaulting
and the scheduler's arithmetic where they matter: container requests default to limits, a pod's
effective request is ``k8s.io/component-helpers/resource.PodRequests`` (init containers, restartable
sidecars, pod-level resources, overhead), and priority falls back to the priority class and then to
the global default class as the Priority admission plugin does.

Input is untrusted: a snapshot file may be hand-written or truncated. Every malformed field raises
``SnapshotError`` with one line naming the object and the field path; no ``KeyError`` or
``TypeError`` escapes. Pods that hold no resources any more (Succeeded, Failed) convert to None.

Speed matters (30,000 pods should convert in a fraction of a second), and the pods of one workload
repeat the same quantities, resources, tolerations and owners: small bounded module-level caches,
keyed by exact copies of the JSON values, convert each distinct value once. They hold only
immutable results, so sharing them across calls (and threads) is safe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, NoReturn

from scheduler_ext.cluster import quantity
from scheduler_ext.domain import (
    CPU,
    PODS,
    DisruptionBudget,
    HostPort,
    LabelSelector,
    Namespace,
    Node,
    NodeSelectorTerm,
    OwnerRef,
    Pod,
    PodAntiAffinityTerm,
    PriorityClass,
    Requirement,
    ResourceList,
    Taint,
    Toleration,
)
from scheduler_ext.errors import SnapshotError

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "default"
DEFAULT_SCHEDULER = "default-scheduler"
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})

# Built into every API server; listed so pods naming them resolve even without the objects.
BUILTIN_PRIORITY_CLASSES = {
    "system-cluster-critical": PriorityClass("system-cluster-critical", 2_000_000_000),
    "system-node-critical": PriorityClass("system-node-critical", 2_000_001_000),
}

# PodLevelResources: the pod-level requests that replace the containers' aggregate.
POD_LEVEL_RESOURCES = frozenset({CPU, "memory"})

_EMPTY: Mapping[str, Any] = {}
_NANOS: dict[str, int] = {}  # quantity strings repeat across pods; parsing is the costly part
_NANOS_LIMIT = 100_000


def _show(value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _type_name(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


class _Reader:
    """Typed access to one object's fields; failures name the object (``pods/ns/name``) and path.

    A field that is absent or JSON ``null`` reads as its empty value, as in Go's decoder.
    """

    __slots__ = ("ref",)

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def fail(self, path: str, problem: str) -> NoReturn:
        raise SnapshotError(f"{self.ref}: {path}: {problem}")

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if type(value) is dict:  # the common case, without the slower ABC check
            return value
        if value is None:
            return _EMPTY
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping, got {_type_name(value)}")
        return value

    def items(self, value: object, path: str) -> list[Any] | tuple[Any, ...]:
        if type(value) is list:
            return value
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.fail(path, f"expected a list, got {_type_name(value)}")
        return value

    def string(self, value: object, path: str, default: str = "") -> str:
        if type(value) is str:
            return value
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_type_name(value)}")
        return value

    def required_string(self, value: object, path: str) -> str:
        if value is None or value == "":
            self.fail(path, "missing")
        return self.string(value, path)

    def integer(self, value: object, path: str, default: int = 0) -> int:
        if type(value) is int:
            return value
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {_type_name(value)}")
        return value

    def boolean(self, value: object, path: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(path, f"expected a boolean, got {_type_name(value)}")
        return value

    def strings(self, value: object, path: str) -> tuple[str, ...]:
        return tuple(
            self.string(item, f"{path}[{i}]") for i, item in enumerate(self.items(value, path))
        )

    def labels(self, value: object, path: str) -> tuple[tuple[str, str], ...]:
        """A string-to-string mapping (labels, annotations, nodeSelector) as sorted pairs."""
        mapping = self.mapping(value, path)
        if not mapping:
            return ()
        for key, item in mapping.items():
            if type(item) is not str or type(key) is not str:
                if not isinstance(key, str):
                    self.fail(path, f"expected string keys, got {_show(key)}")
                self.fail(f"{path}.{key}", f"expected a string, got {_type_name(item)}")
        return tuple(sorted(mapping.items()))

    def nanos(self, value: object, path: str) -> int:
        if type(value) is str:
            cached = _NANOS.get(value)
            if cached is not None:
                return cached
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(path, f"invalid quantity {_show(value)}")
        try:
            amount = quantity.nanos(value)
        except ValueError:
            self.fail(path, f"invalid quantity {_show(value)}")
        if type(value) is str and len(_NANOS) < _NANOS_LIMIT:
            _NANOS[value] = amount
        return amount

    def resources(self, value: object, path: str) -> dict[str, int]:
        """A ResourceList as exact nano amounts (added before rounding, as Go adds Quantities)."""
        return {
            name: self.nanos(amount, f"{path}.{name}")
            for name, amount in self.mapping(value, path).items()
        }


_ROUNDED: dict[tuple[tuple[str, int], ...], ResourceList] = {}


def _round(amounts: Mapping[str, int]) -> ResourceList:
    """Nano amounts to the domain's units: CPU in millicores (MilliValue), the rest by Value."""
    key = tuple(amounts.items())
    cached = _ROUNDED.get(key)
    if cached is not None:
        return cached
    result = ResourceList.of(
        {
            name: quantity.millis_from_nanos(amount)
            if name == CPU
            else quantity.value_from_nanos(amount)
            for name, amount in amounts.items()
        }
    )
    if len(_ROUNDED) >= _NANOS_LIMIT:
        _ROUNDED.clear()
    _ROUNDED[key] = result
    return result


def _metadata(obj: object, plural: str, namespaced: bool) -> tuple[_Reader, Mapping[str, Any]]:
    """Check the object's shape and name; returns a reader naming it and its metadata."""
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise SnapshotError(f"{plural}: expected an object (mapping), got {_type_name(obj)}")
    meta_raw: Any = obj.get("metadata")
    is_mapping = type(meta_raw) is dict or isinstance(meta_raw, Mapping)
    name = meta_raw.get("name") if is_mapping else None
    shown_name = name if type(name) is str and name else "?"
    if namespaced:
        namespace = meta_raw.get("namespace") if is_mapping else None
        shown_ns = namespace if type(namespace) is str and namespace else DEFAULT_NAMESPACE
        reader = _Reader(f"{plural}/{shown_ns}/{shown_name}")
    else:
        reader = _Reader(f"{plural}/{shown_name}")
    if shown_name == "?":  # a valid name implies metadata is a mapping
        meta = reader.mapping(meta_raw, "metadata")
        reader.required_string(meta.get("name"), "metadata.name")
    return reader, meta_raw


def _namespace_of(reader: _Reader, meta: Mapping[str, Any]) -> str:
    return reader.string(meta.get("namespace"), "metadata.namespace") or DEFAULT_NAMESPACE


# --- nodes ----------------------------------------------------------------------------------------


def node_from(obj: Mapping[str, Any]) -> Node:
    """A Node: allocatable (capacity if allocatable is absent), readiness, taints, labels."""
    reader, meta = _metadata(obj, "nodes", namespaced=False)
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
        allocatable=_round(reader.resources(allocatable, path)),
        labels=reader.labels(meta.get("labels"), "metadata.labels"),
        taints=tuple(taints),
        unschedulable=reader.boolean(spec.get("unschedulable"), "spec.unschedulable"),
        ready=ready,
    )


# --- label selectors ------------------------------------------------------------------------------


def _requirements(reader: _Reader, value: object, path: str) -> tuple[Requirement, ...]:
    result = []
    for i, raw in enumerate(reader.items(value, path)):
        where = f"{path}[{i}]"
        expr = reader.mapping(raw, where)
        result.append(
            Requirement(
                key=reader.string(expr.get("key"), f"{where}.key"),
                operator=reader.required_string(expr.get("operator"), f"{where}.operator"),
                values=reader.strings(expr.get("values"), f"{where}.values"),
            )
        )
    return tuple(result)


def _selector(reader: _Reader, value: object, path: str) -> LabelSelector | None:
    """A metav1.LabelSelector; None when absent (callers decide what a missing selector means)."""
    if value is None:
        return None
    selector = reader.mapping(value, path)
    return LabelSelector(
        match_labels=reader.labels(selector.get("matchLabels"), f"{path}.matchLabels"),
        match_expressions=_requirements(
            reader, selector.get("matchExpressions"), f"{path}.matchExpressions"
        ),
    )


# --- pods -----------------------------------------------------------------------------------------

_Key = tuple[Any, ...]
_CACHE_LIMIT = 50_000
# Containers of one Deployment share resources and tolerations; converting each distinct JSON
# value once keeps a 30,000-pod snapshot fast. Keys are exact frozen copies of the JSON.
_REQUESTS_CACHE: dict[_Key, Mapping[str, int]] = {}
_TOLERATIONS_CACHE: dict[_Key, tuple[Toleration, ...]] = {}


def _resources_key(raw: object) -> _Key | None:
    """A cache key for a container's ``resources``, or None if it is unusual (then not cached).

    Only all-string amounts are keyed, so that ``true`` can never hit the entry of ``1``.
    """
    if type(raw) is not dict:
        return None
    key = []
    for section, amounts in raw.items():
        if type(amounts) is not dict:
            return None
        for amount in amounts.values():
            if type(amount) is not str:
                return None
        key.append((section, tuple(amounts.items())))
    return tuple(key)


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


def _remember(cache: dict[_Key, Any], key: _Key, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _container_requests(
    reader: _Reader, container: Mapping[str, Any], path: str
) -> Mapping[str, int]:
    """Requests after API defaulting: a resource with a limit and no request requests its limit.

    The result may be shared: callers must not modify it.
    """
    raw = container.get("resources")
    key = _resources_key(raw)
    if key is not None:
        cached = _REQUESTS_CACHE.get(key)
        if cached is not None:
            return cached
    resources = reader.mapping(raw, f"{path}.resources")
    requests = reader.resources(resources.get("requests"), f"{path}.resources.requests")
    limits = resources.get("limits")
    if limits:
        for name, amount in reader.resources(limits, f"{path}.resources.limits").items():
            requests.setdefault(name, amount)
    if key is not None:
        _remember(_REQUESTS_CACHE, key, requests)
    return requests


def _add(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        total[name] = total.get(name, 0) + amount


def _max(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        if amount > total.get(name, 0):
            total[name] = amount


def _host_ports_of(
    reader: _Reader, container: Mapping[str, Any], path: str, ports: list[HostPort]
) -> None:
    for j, raw in enumerate(reader.items(container.get("ports"), f"{path}.ports")):
        at = f"{path}.ports[{j}]"
        port = reader.mapping(raw, at)
        host_port = reader.integer(port.get("hostPort"), f"{at}.hostPort")
        if host_port > 0:
            ports.append(
                HostPort(
                    port=host_port,
                    protocol=reader.string(port.get("protocol"), f"{at}.protocol") or "TCP",
                    host_ip=reader.string(port.get("hostIP"), f"{at}.hostIP"),
                )
            )


def _containers(
    reader: _Reader, spec: Mapping[str, Any]
) -> tuple[ResourceList, tuple[HostPort, ...]]:
    """Effective requests (``resource.PodRequests``) and the host ports of all containers.

    Requests follow k8s.io/component-helpers (sidecar-aware since 1.29): regular containers and
    restartable init containers (sidecars) run together and add up; each classic init container
    runs alone beside the sidecars declared before it; the pod needs the larger of the two, per
    resource. Pod-level requests (PodLevelResources) replace cpu/memory; overhead is added last.
    Amounts are summed exactly (nanos) and rounded once, as Go sums Quantities.
    """
    total: dict[str, int] = {}
    ports: list[HostPort] = []
    for i, raw in enumerate(reader.items(spec.get("containers"), "spec.containers")):
        where = f"spec.containers[{i}]"
        container = reader.mapping(raw, where)
        _add(total, _container_requests(reader, container, where))
        if "ports" in container:
            _host_ports_of(reader, container, where, ports)
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for i, raw in enumerate(reader.items(spec.get("initContainers"), "spec.initContainers")):
        where = f"spec.initContainers[{i}]"
        container = reader.mapping(raw, where)
        requests = _container_requests(reader, container, where)
        policy = reader.string(container.get("restartPolicy"), f"{where}.restartPolicy")
        if policy == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            _max(init_peak, sidecars)
        else:
            running = dict(requests)
            _add(running, sidecars)
            _max(init_peak, running)
        if "ports" in container:
            _host_ports_of(reader, container, where, ports)
    _max(total, init_peak)

    pod_resources = reader.mapping(spec.get("resources"), "spec.resources")
    if pod_resources:
        pod_level = reader.resources(pod_resources.get("requests"), "spec.resources.requests")
        limits = pod_resources.get("limits")
        if limits:
            # API defaulting: a pod-level limit without a pod-level request becomes the request
            # only if no container requests that resource (else the containers' sum stands).
            for name, amount in reader.resources(limits, "spec.resources.limits").items():
                if name not in pod_level and name not in total:
                    pod_level[name] = amount
        for name, amount in pod_level.items():
            if name in POD_LEVEL_RESOURCES:
                total[name] = amount
    overhead = spec.get("overhead")
    if overhead:
        _add(total, reader.resources(overhead, "spec.overhead"))
    total.pop(PODS, None)
    return _round(total), tuple(ports)


def _priority(
    reader: _Reader, spec: Mapping[str, Any], priorities: Mapping[str, PriorityClass]
) -> tuple[int, str]:
    """spec.priority, else the class's value, else the global default's (lowest if several)."""
    class_name = reader.string(spec.get("priorityClassName"), "spec.priorityClassName")
    priority = spec.get("priority")
    if priority is not None:
        return reader.integer(priority, "spec.priority"), class_name
    if class_name:
        found = priorities.get(class_name) or BUILTIN_PRIORITY_CLASSES.get(class_name)
        if found is not None:
            return found.value, class_name
        logger.warning(
            "%s: priority class %r is not in the snapshot; using the default",
            reader.ref,
            class_name,
        )
    default = min(
        (pc for pc in priorities.values() if pc.global_default),
        key=lambda pc: pc.value,
        default=None,
    )
    if default is None:
        return 0, class_name
    return default.value, class_name or default.name


def _node_affinity(reader: _Reader, affinity: Mapping[str, Any]) -> tuple[NodeSelectorTerm, ...]:
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
                match_expressions=_requirements(
                    reader, term.get("matchExpressions"), f"{where}.matchExpressions"
                ),
                match_fields=_requirements(reader, term.get("matchFields"), f"{where}.matchFields"),
            )
        )
    # A required node selector with no terms matches no node; an empty term says the same.
    return tuple(terms) or (NodeSelectorTerm(),)


def _anti_affinity(
    reader: _Reader, affinity: Mapping[str, Any]
) -> tuple[tuple[PodAntiAffinityTerm, ...], bool]:
    """Required anti-affinity terms, and whether the pod has any (even ones selecting nothing)."""
    path = "spec.affinity.podAntiAffinity"
    anti = reader.mapping(affinity.get("podAntiAffinity"), path)
    path += ".requiredDuringSchedulingIgnoredDuringExecution"
    raw_terms = reader.items(anti.get("requiredDuringSchedulingIgnoredDuringExecution"), path)
    terms = []
    for i, raw in enumerate(raw_terms):
        where = f"{path}[{i}]"
        term = reader.mapping(raw, where)
        selector = _selector(reader, term.get("labelSelector"), f"{where}.labelSelector")
        topology_key = reader.string(term.get("topologyKey"), f"{where}.topologyKey")
        namespaces = reader.strings(term.get("namespaces"), f"{where}.namespaces")
        namespace_selector = _selector(
            reader, term.get("namespaceSelector"), f"{where}.namespaceSelector"
        )
        if selector is None:
            continue  # a term without a label selector selects no pod: it keeps nothing out
        terms.append(
            PodAntiAffinityTerm(
                selector=selector,
                topology_key=topology_key,
                namespaces=namespaces,
                namespace_selector=namespace_selector,
            )
        )
    return tuple(terms), bool(raw_terms)


def _volumes(reader: _Reader, spec: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Whether the pod keeps data on its node (emptyDir not in memory, hostPath), and the volumes
    binding it to nodes or zones through claims (a snapshot has no PVs: all claims count)."""
    local = False
    claims = []
    for i, raw in enumerate(reader.items(spec.get("volumes"), "spec.volumes")):
        where = f"spec.volumes[{i}]"
        volume = reader.mapping(raw, where)
        if "projected" in volume or "configMap" in volume or "secret" in volume:
            continue
        name = _show(volume.get("name"))
        if volume.get("hostPath") is not None:
            local = True
        elif volume.get("emptyDir") is not None:
            empty_dir = reader.mapping(volume["emptyDir"], f"{where}.emptyDir")
            medium = reader.string(empty_dir.get("medium"), f"{where}.emptyDir.medium")
            local = local or medium != "Memory"
        elif volume.get("persistentVolumeClaim") is not None:
            claims.append(f"PersistentVolumeClaim volume {name}")
        elif volume.get("ephemeral") is not None:
            ephemeral = reader.mapping(volume["ephemeral"], f"{where}.ephemeral")
            if ephemeral.get("volumeClaimTemplate") is not None:
                claims.append(f"ephemeral volume {name}")
    return local, claims


_CONSTRAINT_FIELDS = frozenset({"topologySpreadConstraints", "resourceClaims", "schedulingGates"})


def _unmodelled(
    reader: _Reader,
    spec: Mapping[str, Any],
    affinity: Mapping[str, Any],
    has_anti: bool,
    claims: list[str],
) -> str | None:
    """The hard constraints the planner does not model, as one line; None if there are none."""
    if not (affinity or has_anti or claims or _CONSTRAINT_FIELDS.intersection(spec)):
        return None
    reasons = []
    pod_affinity = reader.mapping(affinity.get("podAffinity"), "spec.affinity.podAffinity")
    if reader.items(
        pod_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"),
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
    ):
        reasons.append("required pod affinity")
    if has_anti:
        reasons.append("required pod anti-affinity")
    spread = reader.items(spec.get("topologySpreadConstraints"), "spec.topologySpreadConstraints")
    for i, raw in enumerate(spread):
        where = f"spec.topologySpreadConstraints[{i}]"
        constraint = reader.mapping(raw, where)
        policy = reader.string(constraint.get("whenUnsatisfiable"), f"{where}.whenUnsatisfiable")
        if policy != "ScheduleAnyway":
            reasons.append("a DoNotSchedule topology spread constraint")
            break
    reasons.extend(claims)
    if reader.items(spec.get("resourceClaims"), "spec.resourceClaims"):
        reasons.append("resource claims (DRA)")
    if reader.items(spec.get("schedulingGates"), "spec.schedulingGates"):
        reasons.append("scheduling gates")
    return ", ".join(reasons) or None


def _tolerations(reader: _Reader, spec: Mapping[str, Any]) -> tuple[Toleration, ...]:
    raw_list = spec.get("tolerations")
    if not raw_list:
        return ()
    key = _tolerations_key(raw_list)
    if key is not None:
        cached = _TOLERATIONS_CACHE.get(key)
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
    tolerations = tuple(result)
    if key is not None:
        _remember(_TOLERATIONS_CACHE, key, tolerations)
    return tolerations


_OWNERS: dict[tuple[str, str, str], OwnerRef] = {}  # the pods of one ReplicaSet share one value


def _owner(reader: _Reader, meta: Mapping[str, Any]) -> OwnerRef | None:
    refs = reader.items(meta.get("ownerReferences"), "metadata.ownerReferences")
    for i, raw in enumerate(refs):
        where = f"metadata.ownerReferences[{i}]"
        ref = reader.mapping(raw, where)
        if reader.boolean(ref.get("controller"), f"{where}.controller"):
            key = (
                reader.string(ref.get("kind"), f"{where}.kind"),
                reader.string(ref.get("name"), f"{where}.name"),
                reader.string(ref.get("uid"), f"{where}.uid"),
            )
            owner = _OWNERS.get(key)
            if owner is None:
                if len(_OWNERS) >= _CACHE_LIMIT:
                    _OWNERS.clear()
                owner = _OWNERS[key] = OwnerRef(*key)
            return owner
    return None


def pod_from(
    obj: Mapping[str, Any], priorities: Mapping[str, PriorityClass] | None = None
) -> Pod | None:
    """A Pod, or None if it has finished (Succeeded, Failed) and so holds no resources.

    ``priorities`` maps class names to the snapshot's PriorityClasses; the two system classes are
    known without it.
    """
    reader, meta = _metadata(obj, "pods", namespaced=True)
    status = reader.mapping(obj.get("status"), "status")
    phase = reader.string(status.get("phase"), "status.phase", "Pending") or "Pending"
    if phase in FINISHED_PHASES:
        return None
    spec = reader.mapping(obj.get("spec"), "spec")
    affinity = reader.mapping(spec.get("affinity"), "spec.affinity")
    priority, class_name = _priority(reader, spec, priorities or {})
    requests, host_ports = _containers(reader, spec)
    if affinity:
        anti_affinity, has_anti = _anti_affinity(reader, affinity)
        node_affinity = _node_affinity(reader, affinity)
    else:
        anti_affinity, has_anti, node_affinity = (), False, ()
    local_storage, claims = _volumes(reader, spec) if "volumes" in spec else (False, [])
    return Pod(
        namespace=_namespace_of(reader, meta),
        name=meta["name"],
        uid=reader.string(meta.get("uid"), "metadata.uid"),
        priority=priority,
        priority_class_name=class_name,
        requests=requests,
        node_name=reader.string(spec.get("nodeName"), "spec.nodeName") or None,
        phase=phase,
        labels=reader.labels(meta.get("labels"), "metadata.labels"),
        annotations=reader.labels(meta.get("annotations"), "metadata.annotations"),
        node_selector=reader.labels(spec.get("nodeSelector"), "spec.nodeSelector"),
        required_node_affinity=node_affinity,
        tolerations=_tolerations(reader, spec),
        host_ports=host_ports,
        owner=_owner(reader, meta),
        terminating=meta.get("deletionTimestamp") is not None,
        local_storage=local_storage,
        scheduler_name=reader.string(spec.get("schedulerName"), "spec.schedulerName")
        or DEFAULT_SCHEDULER,
        anti_affinity=anti_affinity,
        unmodelled=_unmodelled(reader, spec, affinity, has_anti, claims),
    )


# --- the rest -------------------------------------------------------------------------------------


def budget_from(obj: Mapping[str, Any]) -> DisruptionBudget:
    """A policy/v1 PodDisruptionBudget; a missing status allows no disruption.

    policy/v1beta1 (removed in 1.25) read an empty selector as "no pod"; policy/v1 as "every pod in
    the namespace". Both are honoured by apiVersion.
    """
    reader, meta = _metadata(obj, "poddisruptionbudgets", namespaced=True)
    spec = reader.mapping(obj.get("spec"), "spec")
    status = reader.mapping(obj.get("status"), "status")
    selector = _selector(reader, spec.get("selector"), "spec.selector")
    if obj.get("apiVersion") == "policy/v1beta1" and selector == LabelSelector():
        selector = None
    return DisruptionBudget(
        namespace=_namespace_of(reader, meta),
        name=meta["name"],
        selector=selector,
        disruptions_allowed=reader.integer(
            status.get("disruptionsAllowed"), "status.disruptionsAllowed"
        ),
    )


def priority_class_from(obj: Mapping[str, Any]) -> PriorityClass:
    reader, meta = _metadata(obj, "priorityclasses", namespaced=False)
    value = obj.get("value")
    if value is None:
        reader.fail("value", "missing")
    return PriorityClass(
        name=meta["name"],
        value=reader.integer(value, "value"),
        global_default=reader.boolean(obj.get("globalDefault"), "globalDefault"),
    )


def namespace_from(obj: Mapping[str, Any]) -> Namespace:
    reader, meta = _metadata(obj, "namespaces", namespaced=False)
    return Namespace(name=meta["name"], labels=reader.labels(meta.get("labels"), "metadata.labels"))
