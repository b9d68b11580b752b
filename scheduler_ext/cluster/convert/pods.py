"""A Pod's JSON turned into the domain's ``Pod``: the facts the planner and the verbs decide on.

Pods are most of a cluster and carry most of its rules, so they get a module of their own:
priority as the Priority admission plugin resolves it, the controlling owner, the volumes that tie
a pod to its node, required anti-affinity terms, and a one-line account of the hard constraints
the planner does not model (so it leaves such pods where they are). Requests and selectors are read
by their own modules. Pods that hold no resources any more (Succeeded, Failed) convert to None.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from scheduler_ext.cluster.convert.reading import Cache, KindReader, Reader, namespace_of, show
from scheduler_ext.cluster.convert.requests import pod_requests
from scheduler_ext.cluster.convert.selectors import (
    label_selector,
    required_node_affinity,
    tolerations,
)
from scheduler_ext.cluster.kinds import Kind
from scheduler_ext.domain import (
    BUILTIN_PRIORITY_CLASSES,
    DEFAULT_SCHEDULER,
    OwnerRef,
    Pod,
    PodAntiAffinityTerm,
    PriorityClass,
)

logger = logging.getLogger(__name__)

FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
_CONSTRAINT_FIELDS = frozenset({"topologySpreadConstraints", "resourceClaims", "schedulingGates"})
_PODS = KindReader(Kind.POD)
_OWNERS: Cache[tuple[str, str, str], OwnerRef] = Cache(50_000)  # one ReplicaSet, one value


def _priority(
    reader: Reader, spec: Mapping[str, Any], priorities: Mapping[str, PriorityClass]
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


def _anti_affinity(
    reader: Reader, affinity: Mapping[str, Any]
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
        selector = label_selector(reader, term.get("labelSelector"), f"{where}.labelSelector")
        topology_key = reader.string(term.get("topologyKey"), f"{where}.topologyKey")
        namespaces = reader.strings(term.get("namespaces"), f"{where}.namespaces")
        namespace_selector = label_selector(
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


def _volumes(reader: Reader, spec: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Whether the pod keeps data on its node (emptyDir not in memory, hostPath), and the volumes
    binding it to nodes or zones through claims (a snapshot has no PVs: all claims count)."""
    local = False
    claims = []
    for i, raw in enumerate(reader.items(spec.get("volumes"), "spec.volumes")):
        where = f"spec.volumes[{i}]"
        volume = reader.mapping(raw, where)
        if "projected" in volume or "configMap" in volume or "secret" in volume:
            continue
        name = show(volume.get("name"))
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


def _unmodelled(
    reader: Reader,
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


def _owner(reader: Reader, meta: Mapping[str, Any]) -> OwnerRef | None:
    """The controlling owner reference (``controller: true``), if any."""
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
            return owner if owner is not None else _OWNERS.remember(key, OwnerRef(*key))
    return None


def pod_from(
    obj: Mapping[str, Any], priorities: Mapping[str, PriorityClass] | None = None
) -> Pod | None:
    """A Pod, or None if it has finished (Succeeded, Failed) and so holds no resources.

    ``priorities`` maps class names to the snapshot's PriorityClasses; the two system classes are
    known without it.
    """
    reader, meta = _PODS.open(obj)
    status = reader.mapping(obj.get("status"), "status")
    phase = reader.string(status.get("phase"), "status.phase", "Pending") or "Pending"
    if phase in FINISHED_PHASES:
        return None
    spec = reader.mapping(obj.get("spec"), "spec")
    affinity = reader.mapping(spec.get("affinity"), "spec.affinity")
    priority, class_name = _priority(reader, spec, priorities or {})
    requests, host_ports = pod_requests(reader, spec)
    if affinity:
        anti_affinity, has_anti = _anti_affinity(reader, affinity)
        node_affinity = required_node_affinity(reader, affinity)
    else:
        anti_affinity, has_anti, node_affinity = (), False, ()
    local_storage, claims = _volumes(reader, spec) if "volumes" in spec else (False, [])
    return Pod(
        namespace=namespace_of(reader, meta),
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
        tolerations=tolerations(reader, spec),
        host_ports=host_ports,
        owner=_owner(reader, meta),
        terminating=meta.get("deletionTimestamp") is not None,
        local_storage=local_storage,
        scheduler_name=reader.string(spec.get("schedulerName"), "spec.schedulerName")
        or DEFAULT_SCHEDULER,
        anti_affinity=anti_affinity,
        # A running pod's claims are the eviction rules' (rule pvc), a pending one's unmodelled.
        unmodelled=_unmodelled(
            reader, spec, affinity, has_anti, [] if spec.get("nodeName") else claims
        ),
        volume_claims=tuple(claims),
    )
