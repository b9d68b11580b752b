"""Raw Kubernetes objects (plain dicts) for tests and benchmarks: the one place they are built.

Two families. Manifests to create on a cluster (``node``, ``pod``, ``deployment``, ``pdb``, ...):
every one is a body the official ``kubernetes`` client accepts, and ``testkit.kube.Kube`` creates
them. Objects as the API server lists them (``api_node``, ``api_pod``), for what reads such
objects without a cluster (store, converter, client, benchmarks): only the fields asked for, so a
test shows exactly what the code under test sees. Resource amounts are Kubernetes quantities
("500m", "2", "1Gi") or plain numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

Manifest = dict[str, Any]
Quantity = str | int | float

#: kwok's own node annotation. A kwok controller run with
#: ``--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake`` manages only nodes carrying
#: it; the one kwokctl starts runs with ``--manage-all-nodes=true`` (kwokctl v0.7.0
#: ``components/kwok_controller.go``) and manages every node, so the annotation is what makes these
#: nodes portable to either setup.
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODE_ANNOTATION_VALUE = "fake"
#: Label on every node made here, to list or delete them together.
KWOK_NODE_LABEL = "type"
KWOK_NODE_LABEL_VALUE = "kwok"
#: A container image; never pulled, kwok only pretends to run the pod.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"


class Taint(TypedDict):
    key: str
    value: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute


def quantity(value: Quantity) -> str:
    """A quantity as the API wants it: strings as given, numbers as their decimal text."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _resources(values: Mapping[str, Quantity]) -> dict[str, str]:
    return {name: quantity(amount) for name, amount in values.items()}


def node(
    name: str,
    *,
    cpu: Quantity = "4",
    memory: Quantity = "8Gi",
    pods: int = 110,
    extra: Mapping[str, Quantity] | None = None,
    allocatable: Mapping[str, Quantity] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
    unschedulable: bool = False,
) -> Manifest:
    """A kwok-managed Node. ``allocatable`` defaults to ``cpu``/``memory``/``pods`` plus ``extra``
    (extended resources such as ``example.com/gpu``); capacity equals allocatable.

    kwok fills in the Ready condition, addresses and heartbeats once the node exists.
    """
    if allocatable is None:
        alloc: dict[str, str] = {
            "cpu": quantity(cpu),
            "memory": quantity(memory),
            "pods": str(pods),
        }
        alloc.update(_resources(extra or {}))
    else:
        alloc = _resources(allocatable)
    all_labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        KWOK_NODE_LABEL: KWOK_NODE_LABEL_VALUE,
    }
    all_labels.update(labels or {})
    all_annotations = {
        KWOK_NODE_ANNOTATION: KWOK_NODE_ANNOTATION_VALUE,
        "node.alpha.kubernetes.io/ttl": "0",
    }
    all_annotations.update(annotations or {})
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels, "annotations": all_annotations},
        "spec": spec,
        "status": {
            "allocatable": dict(alloc),
            "capacity": dict(alloc),
        },
    }


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> Taint:
    return {"key": key, "value": value, "effect": effect}


def toleration(key: str, value: str | None = None, effect: str | None = None) -> dict[str, str]:
    """A toleration for ``key`` (``Exists`` when no value is given)."""
    result = {"key": key, "operator": "Exists" if value is None else "Equal"}
    if value is not None:
        result["value"] = value
    if effect is not None:
        result["effect"] = effect
    return result


def namespace(name: str, labels: Mapping[str, str] | None = None) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": dict(labels or {})},
    }


def priority_class(
    name: str,
    value: int,
    *,
    preemption_policy: str = "PreemptLowerPriority",
    global_default: bool = False,
    description: str = "",
) -> Manifest:
    """A PriorityClass (``preemption_policy``: ``PreemptLowerPriority`` or ``Never``)."""
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        "preemptionPolicy": preemption_policy,
        "globalDefault": global_default,
        "description": description or f"test priority {value}",
    }


def pod_spec(
    *,
    requests: Mapping[str, Quantity] | None = None,
    limits: Mapping[str, Quantity] | None = None,
    priority_class_name: str | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Sequence[Mapping[str, str]] = (),
    scheduler_name: str | None = None,
    containers: int = 1,
    termination_grace_period_seconds: int = 0,
) -> dict[str, Any]:
    """A pod spec of ``containers`` pause containers that each request ``requests``."""
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = _resources(requests)
    if limits:
        resources["limits"] = _resources(limits)
    spec: dict[str, Any] = {
        "containers": [
            {"name": f"c{i}", "image": PAUSE_IMAGE, "resources": dict(resources)}
            for i in range(containers)
        ],
        "terminationGracePeriodSeconds": termination_grace_period_seconds,
    }
    if priority_class_name:
        spec["priorityClassName"] = priority_class_name
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if scheduler_name:
        spec["schedulerName"] = scheduler_name
    return spec


def pod(
    name: str,
    *,
    namespace: str,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> Manifest:
    """A bare Pod; keyword arguments go to ``pod_spec``."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels or {"app": name}),
            "annotations": dict(annotations or {}),
        },
        "spec": pod_spec(**spec),
    }


# -- objects as the API server lists them (no cluster) ---------------------------------------------

#: The condition kube-scheduler sets on a pod it could not place: the planning trigger.
UNSCHEDULABLE_CONDITION = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}


def _typed(kind: str, typed: bool, body: Manifest) -> Manifest:
    """Items of a typed list (NodeList, PodList) carry no apiVersion/kind; a ``v1 List``'s do."""
    return {"apiVersion": "v1", "kind": kind, **body} if typed else body


def api_node(
    name: str,
    *,
    allocatable: Mapping[str, Quantity] | None = None,
    capacity: Mapping[str, Quantity] | None = None,
    ready: bool | None = True,
    heartbeat: str | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
    unschedulable: bool = False,
    resource_version: str | None = None,
    status: Mapping[str, Any] | None = None,
    typed: bool = False,
) -> Manifest:
    """A Node with only the fields given (no kwok labels: ``node()`` is for clusters).

    ``ready``: a Ready condition with that status (``heartbeat``: its ``lastHeartbeatTime``), or
    no condition at all when None; ``status`` is merged in last. ``spec`` and ``status`` are left
    out when empty.
    """
    metadata: dict[str, Any] = {"name": name}
    if labels is not None:
        metadata["labels"] = dict(labels)
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    body: Manifest = {"metadata": metadata}
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    if spec:
        body["spec"] = spec
    node_status: dict[str, Any] = {}
    if allocatable is not None:
        node_status["allocatable"] = _resources(allocatable)
    if capacity is not None:
        node_status["capacity"] = _resources(capacity)
    if ready is not None:
        condition = {"type": "Ready", "status": "True" if ready else "False"}
        if heartbeat is not None:
            condition["lastHeartbeatTime"] = heartbeat
        node_status["conditions"] = [condition]
    node_status.update(status or {})
    if node_status:
        body["status"] = node_status
    return _typed("Node", typed, body)


_API_VERSIONS = {"ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1"}
_API_VERSIONS |= {"Job": "batch/v1", "Node": "v1"}


def owner_reference(
    kind: str, name: str, *, uid: str, controller: bool = True, api_version: str | None = None
) -> dict[str, Any]:
    """One ``metadata.ownerReferences`` entry (the controller's, by default), with the
    apiVersion of Kubernetes' own ``kind`` unless one is given (none for other kinds)."""
    ref: dict[str, Any] = {"kind": kind, "name": name, "uid": uid, "controller": controller}
    version = api_version or _API_VERSIONS.get(kind)
    if version is not None:
        ref["apiVersion"] = version
    return ref


def api_pod(
    name: str,
    *,
    namespace: str = "default",
    uid: str | None = None,
    node_name: str | None = None,
    requests: Mapping[str, Quantity] | None = None,
    priority: int | None = None,
    labels: Mapping[str, str] | None = None,
    owner: Mapping[str, Any] | None = None,
    phase: str | None = None,
    unschedulable: bool = False,
    metadata: Mapping[str, Any] | None = None,
    spec: Mapping[str, Any] | None = None,
    status: Mapping[str, Any] | None = None,
    typed: bool = False,
) -> Manifest:
    """A Pod with one container ``c`` requesting ``requests``, and only the fields given.

    ``phase`` defaults to Running when ``node_name`` is set, else Pending; ``unschedulable`` adds
    kube-scheduler's PodScheduled=False condition; ``owner`` is an ``owner_reference()``.
    ``metadata``, ``spec`` and ``status`` are merged in last (``spec={"containers": [...]}``
    replaces the container).
    """
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if uid is not None:
        meta["uid"] = uid
    if labels is not None:
        meta["labels"] = dict(labels)
    if owner is not None:
        meta["ownerReferences"] = [dict(owner)]
    meta.update(metadata or {})
    resources = {"requests": _resources(requests)} if requests is not None else {}
    body: dict[str, Any] = {}
    if node_name is not None:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    body["containers"] = [{"name": "c", "resources": resources}]
    body.update(spec or {})
    pod_status: dict[str, Any] = {"phase": phase or ("Running" if node_name else "Pending")}
    if unschedulable:
        pod_status["conditions"] = [dict(UNSCHEDULABLE_CONDITION)]
    pod_status.update(status or {})
    return _typed("Pod", typed, {"metadata": meta, "spec": body, "status": pod_status})


def object_list(items: Sequence[Manifest]) -> Manifest:
    """A ``v1 List``, as ``kubectl get ... -o json`` prints several kinds (items need ``typed``)."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": list(items)}


def _workload(
    kind: str,
    api_version: str,
    name: str,
    namespace: str,
    replicas: int,
    labels: Mapping[str, str] | None,
    spec: Mapping[str, Any],
) -> Manifest:
    match_labels = dict(labels or {"app": name})
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(match_labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(match_labels)},
            "template": {
                "metadata": {"labels": dict(match_labels)},
                "spec": pod_spec(**spec),
            },
        },
    }


def deployment(
    name: str,
    *,
    namespace: str,
    replicas: int,
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> Manifest:
    """An apps/v1 Deployment; its pods carry ``labels`` (default ``app: <name>``); keyword
    arguments (``requests``, ``priority_class_name``, ``node_selector``, ...) go to ``pod_spec``.
    """
    return _workload("Deployment", "apps/v1", name, namespace, replicas, labels, spec)


def replicaset(
    name: str,
    *,
    namespace: str,
    replicas: int,
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> Manifest:
    """An apps/v1 ReplicaSet, like ``deployment``."""
    return _workload("ReplicaSet", "apps/v1", name, namespace, replicas, labels, spec)


def pdb(
    name: str,
    *,
    namespace: str,
    match_labels: Mapping[str, str],
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    disruptions_allowed: int | None = None,
) -> Manifest:
    """A policy/v1 PodDisruptionBudget (give exactly one of the two bounds); with
    ``disruptions_allowed``, the status the disruption controller would have written."""
    if (min_available is None) == (max_unavailable is None):
        raise ValueError("give exactly one of min_available and max_unavailable")
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(match_labels)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    else:
        spec["maxUnavailable"] = max_unavailable
    budget: Manifest = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    if disruptions_allowed is not None:
        budget["status"] = {"disruptionsAllowed": disruptions_allowed}
    return budget


def scheduler_config(
    *,
    extenders: Sequence[Mapping[str, Any]] = (),
    percentage_of_nodes_to_score: int | None = 100,
    pod_initial_backoff_seconds: int = 1,
    pod_max_backoff_seconds: int = 1,
    profiles: Sequence[Mapping[str, Any]] | None = None,
) -> Manifest:
    """A ``KubeSchedulerConfiguration`` (v1) for tests: no leader election (one scheduler, no
    wait for a lease), short backoffs, and the given extenders."""
    config: Manifest = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "leaderElection": {"leaderElect": False},
        "podInitialBackoffSeconds": pod_initial_backoff_seconds,
        "podMaxBackoffSeconds": pod_max_backoff_seconds,
        "profiles": [dict(p) for p in profiles]
        if profiles is not None
        else [{"schedulerName": "default-scheduler"}],
    }
    if percentage_of_nodes_to_score is not None:
        config["percentageOfNodesToScore"] = percentage_of_nodes_to_score
    if extenders:
        config["extenders"] = [dict(e) for e in extenders]
    return config


def extender(
    url_prefix: str,
    *,
    filter_verb: str | None = "filter",
    prioritize_verb: str | None = "prioritize",
    preempt_verb: str | None = "preempt",
    bind_verb: str | None = None,
    weight: int = 1,
    node_cache_capable: bool = True,
    ignorable: bool = False,
    http_timeout: str = "5s",
    managed_resources: Sequence[Mapping[str, Any]] = (),
) -> Manifest:
    """One ``extenders[]`` entry of a KubeSchedulerConfiguration (keys as the strict decoder wants
    them: ``enableHTTPS``, ``nodeCacheCapable``...)."""
    entry: Manifest = {
        "urlPrefix": url_prefix,
        "weight": weight,
        "enableHTTPS": False,
        "httpTimeout": http_timeout,
        "nodeCacheCapable": node_cache_capable,
        "ignorable": ignorable,
    }
    for key, verb in (
        ("filterVerb", filter_verb),
        ("prioritizeVerb", prioritize_verb),
        ("preemptVerb", preempt_verb),
        ("bindVerb", bind_verb),
    ):
        if verb:
            entry[key] = verb
    if managed_resources:
        entry["managedResources"] = [dict(m) for m in managed_resources]
    return entry
