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

from scheduler_ext.cluster.convert.constraints import affinity_terms, preempts, spread_constraints
from scheduler_ext.cluster.convert.reading import Cache, KindReader, Reader, namespace_of, show
from scheduler_ext.cluster.convert.requests import pod_requests
from scheduler_ext.cluster.convert.selectors import required_node_affinity, tolerations
from scheduler_ext.cluster.kinds import Kind
from scheduler_ext.domain import (
    BUILTIN_PRIORITY_CLASSES,
    DEFAULT_SCHEDULER,
    LabelItems,
    OwnerRef,
    Pod,
    PodAffinityTerm,
    PriorityClass,
)

logger = logging.getLogger(__name__)

FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
_UNMODELLED_FIELDS = frozenset({"resourceClaims", "schedulingGates"})
_PODS = KindReader(Kind.POD)
# One value per owner (kind, name, uid, apiVersion): one ReplicaSet, one value.
_OWNERS: Cache[tuple[str, str, str, str | None], OwnerRef] = Cache(50_000)


def _priority(
    reader: Reader, spec: Mapping[str, Any], priorities: Mapping[str, PriorityClass]
) -> tuple[int, str, bool | None]:
    """spec.priority, else the class's value, else the global default's (lowest if several);
    with the class name and whether the class that decided preempts (None: no class did).

    ``plugin/pkg/admission/priority/admission.go``, ``establishPriority``/``getDefaultPriority``.
    """
    class_name = reader.string(spec.get("priorityClassName"), "spec.priorityClassName")
    priority = spec.get("priority")
    found = default = None
    if class_name:
        found = priorities.get(class_name) or BUILTIN_PRIORITY_CLASSES.get(class_name)
    if found is None:
        default = min(
            (pc for pc in priorities.values() if pc.global_default),
            key=lambda pc: pc.value,
            default=None,
        )
    if priority is not None:
        found = found or default
        policy = found.preempts if found is not None else None
        return reader.integer(priority, "spec.priority"), class_name, policy
    if found is not None:
        return found.value, class_name, found.preempts
    if class_name:
        logger.warning(
            "%s: priority class %r is not in the snapshot; using the default",
            reader.ref,
            class_name,
        )
    if default is None:
        return 0, class_name, None
    return default.value, class_name or default.name, default.preempts


def _inter_pod(
    reader: Reader, affinity: Mapping[str, Any], labels: LabelItems
) -> tuple[tuple[PodAffinityTerm, ...], tuple[PodAffinityTerm, ...], str | None]:
    """Required pod affinity and anti-affinity terms, and why the pod can never be placed (or
    None)."""
    if not affinity:
        return (), (), None
    pod_affinity, no_selector = affinity_terms(reader, affinity, "podAffinity", labels)
    anti_affinity, _ = affinity_terms(reader, affinity, "podAntiAffinity", labels)
    never = None
    if no_selector is not None:
        never = (
            f"required pod affinity term {no_selector} has no labelSelector, which matches no "
            "pod (kube-scheduler never places such a pod)"
        )
    return pod_affinity, anti_affinity, never


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
    reader: Reader, spec: Mapping[str, Any], claims: list[str], never: str | None = None
) -> str | None:
    """The hard constraints the planner does not model, as one line; None if there are none.

    ``never`` (a constraint no node can satisfy) comes first: the pod must stay where it is.
    Inter-pod affinity, anti-affinity and topology spread are modelled (``model/interpod*``).
    """
    if not (claims or never or _UNMODELLED_FIELDS.intersection(spec)):
        return None
    reasons = [never] if never else []
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
            api_version = ref.get("apiVersion")
            key = (
                reader.string(ref.get("kind"), f"{where}.kind"),
                reader.string(ref.get("name"), f"{where}.name"),
                reader.string(ref.get("uid"), f"{where}.uid"),
                None if api_version is None else reader.string(api_version, f"{where}.apiVersion"),
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
    priority, class_name, class_policy = _priority(reader, spec, priorities or {})
    requests, host_ports = pod_requests(reader, spec, status)
    labels = reader.labels(meta.get("labels"), "metadata.labels")
    pod_affinity, anti_affinity, never = _inter_pod(reader, affinity, labels)
    node_affinity = required_node_affinity(reader, affinity) if affinity else ()
    local_storage, claims = _volumes(reader, spec) if "volumes" in spec else (False, [])
    has_spread = "topologySpreadConstraints" in spec
    spread = spread_constraints(reader, spec, labels) if has_spread else ()
    return Pod(
        namespace=namespace_of(reader, meta),
        name=meta["name"],
        uid=reader.string(meta.get("uid"), "metadata.uid"),
        priority=priority,
        priority_class_name=class_name,
        requests=requests,
        node_name=reader.string(spec.get("nodeName"), "spec.nodeName") or None,
        phase=phase,
        labels=labels,
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
        affinity=pod_affinity,
        spread=spread,
        preempts=preempts(reader, spec, class_policy),
        # A running pod's claims are the eviction rules' (rule pvc), a pending one's unmodelled.
        unmodelled=_unmodelled(reader, spec, [] if spec.get("nodeName") else claims, never),
        volume_claims=tuple(claims),
    )
