"""Random small clusters as raw Kubernetes manifests, for the differential test against the real
kube-scheduler (``testkit/differential.py``).

The property tests draw domain objects with Hypothesis; the differential test needs objects the
API server accepts and kube-scheduler reads, and a generator the benchmark command can run
without pytest. So this one draws manifests from a seeded ``random.Random`` (one seed, one
cluster, reproducible from the seed printed with any disagreement), with what the InterPodAffinity
and PodTopologySpread filters read: zone and hostname labels (some nodes without a zone), taints
and tolerations, node selectors, required pod affinity and anti-affinity (self anti-affinity "one
per node/zone" included, terms across namespaces), and DoNotSchedule spread with maxSkew,
minDomains and both inclusion policies.

Two views of one pod: ``snapshot_objects`` is what the planner reads (as ``kubectl get -o json``
would print it: priorities resolved, phases, a ReplicaSet owner so running pods may move), and
``live_pod`` is what is created on the control plane (no owner, which the garbage collector would
delete, and one non-preempting priority class, so that kube-scheduler never preempts to make a
probe fit and its verdict is its filters' alone).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from testkit import builders
from testkit.builders import Manifest

HOST = "kubernetes.io/hostname"
ZONE = "zone"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
APPS = ("a", "b", "c")
PRIORITIES = (0, 10, 100)
PRIORITY_ANNOTATION = "diff.scheduler-ext.io/priority"
#: The one PriorityClass every created pod uses: value 0 and preemptionPolicy Never.
NEVER_CLASS = "diff-never"


@dataclass(frozen=True)
class Instance:
    """One random cluster: nodes, and pods (those with ``spec.nodeName`` are running)."""

    seed: int
    namespace: str
    nodes: tuple[Manifest, ...]
    pods: tuple[Manifest, ...]

    def describe(self) -> str:
        """The cluster in a few lines, for a failure message."""
        lines = [f"seed {self.seed}, namespace {self.namespace}"]
        for node in self.nodes:
            labels = {k: v for k, v in node["metadata"]["labels"].items() if k in (ZONE, "disk")}
            alloc = node["status"]["allocatable"]
            lines.append(
                f"  node {node['metadata']['name']} {labels} taints={node['spec'].get('taints')} "
                f"unschedulable={node['spec'].get('unschedulable', False)} "
                f"cpu={alloc['cpu']} pods={alloc['pods']}"
            )
        for pod in self.pods:
            lines.append(f"  pod {pod_line(pod)}")
        return "\n".join(lines)


def pod_line(pod: Manifest) -> str:
    spec = pod["spec"]
    shown = {
        k: spec[k]
        for k in (
            "nodeName",
            "nodeSelector",
            "tolerations",
            "affinity",
            "topologySpreadConstraints",
        )
        if k in spec
    }
    return f"{pod['metadata']['name']} labels={pod['metadata']['labels']} {shown}"


def _node(rng: random.Random, name: str) -> Manifest:
    labels = {}
    zone = rng.choice(("a", "b", "a", "b", "c", None))
    if zone is not None:
        labels[ZONE] = zone
    if rng.random() < 0.4:
        labels["disk"] = "ssd"
    taints: list[builders.Taint] = []
    if rng.random() < 0.25:
        effect = rng.choice(("NoSchedule", "NoExecute", "PreferNoSchedule"))
        taints.append(builders.taint("dedicated", rng.choice(("x", "y")), effect))
    return builders.node(
        name,
        cpu=rng.choice(("1500m", "2", "3")),
        memory="4Gi",
        pods=rng.choice((3, 4, 110, 110)),
        labels=labels,
        taints=taints,
        unschedulable=rng.random() < 0.08,
    )


def _namespaces(rng: random.Random, namespace: str) -> dict[str, Any]:
    roll = rng.randrange(6)
    if roll == 0:
        return {"namespaceSelector": {}}
    if roll == 1:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if roll == 2:
        return {"namespaces": [namespace]}
    return {}


def _term(rng: random.Random, app: str, namespace: str) -> dict[str, Any]:
    target = app if rng.random() < 0.5 else rng.choice(APPS)
    return {
        "labelSelector": {"matchLabels": {"app": target}},
        "topologyKey": rng.choice((HOST, ZONE)),
        **_namespaces(rng, namespace),
    }


def _spread(rng: random.Random, app: str, key: str | None = None) -> dict[str, Any]:
    constraint: dict[str, Any] = {
        "maxSkew": rng.choice((1, 1, 2)),
        "topologyKey": key or rng.choice((ZONE, ZONE, HOST)),
        "whenUnsatisfiable": "DoNotSchedule",
        "nodeAffinityPolicy": rng.choice(("Honor", "Ignore", "Ignore")),
        "nodeTaintsPolicy": rng.choice(("Ignore", "Ignore", "Honor")),
    }
    roll = rng.randrange(8)
    if roll == 0:
        pass  # no selector: counts no pod
    elif roll == 1:
        constraint["labelSelector"] = {
            "matchExpressions": [{"key": "app", "operator": "In", "values": sorted({app, "b"})}]
        }
    else:
        constraint["labelSelector"] = {"matchLabels": {"app": app}}
    min_domains = rng.choice((1, 1, 1, 2, 3))
    if min_domains > 1:
        constraint["minDomains"] = min_domains
    return constraint


def _constraints(rng: random.Random, spec: dict[str, Any], app: str, namespace: str) -> None:
    """Sometimes one required inter-pod constraint (self anti-affinity, anti-affinity, affinity
    or one or two spread constraints); in place."""
    roll = rng.randrange(8)
    if roll == 0:
        own = {
            "labelSelector": {"matchLabels": {"app": app}},
            "topologyKey": rng.choice((HOST, ZONE)),
        }
        spec["affinity"] = {"podAntiAffinity": {REQUIRED: [own]}}
    elif roll == 1:
        spec["affinity"] = {"podAntiAffinity": {REQUIRED: [_term(rng, app, namespace)]}}
    elif roll == 2:
        spec["affinity"] = {"podAffinity": {REQUIRED: [_term(rng, app, namespace)]}}
    elif roll in (3, 4):
        constraints = [_spread(rng, app)]
        if rng.random() < 0.25:
            other = HOST if constraints[0]["topologyKey"] == ZONE else ZONE
            constraints.append(_spread(rng, app, other))
        spec["topologySpreadConstraints"] = constraints


def random_pod(rng: random.Random, name: str, namespace: str) -> Manifest:
    app = rng.choice(APPS)
    tolerations: list[dict[str, str]] = []
    roll = rng.randrange(6)
    if roll == 0:
        tolerations = [builders.toleration("dedicated")]
    elif roll == 1:
        tolerations = [builders.toleration("dedicated", "x", "NoSchedule")]
    selector = rng.choice(({}, {}, {}, {ZONE: "a"}, {"disk": "ssd"}))
    manifest = builders.pod(
        name,
        namespace=namespace,
        labels={"app": app},
        annotations={PRIORITY_ANNOTATION: str(rng.choice(PRIORITIES))},
        requests={"cpu": rng.choice(("100m", "250m", "500m", "750m")), "memory": "128Mi"},
        tolerations=tolerations,
        node_selector=selector,
    )
    _constraints(rng, manifest["spec"], app, namespace)
    return manifest


def random_instance(
    seed: int, *, namespace: str, node_prefix: str, max_nodes: int = 5, max_pods: int = 9
) -> Instance:
    """A random cluster: 2..``max_nodes`` nodes, up to ``max_pods`` pods of which about half run
    (on a node they pass the node-level filters of, within its capacity; their own inter-pod
    constraints may be broken, as IgnoredDuringExecution allows) and at least one is pending."""
    rng = random.Random(seed)
    nodes = [_node(rng, f"{node_prefix}n{i}") for i in range(rng.randint(2, max_nodes))]
    pods: list[Manifest] = []
    used = {n["metadata"]["name"]: [0, 0] for n in nodes}  # millicores, pods
    count = rng.randint(2, max_pods)
    for i in range(count):
        pod = random_pod(rng, f"p{i}", namespace)
        if i < count - 1 and rng.random() < 0.55:
            candidates = [n for n in nodes if _fits(n, pod, used[n["metadata"]["name"]])]
            if candidates:
                node = rng.choice(candidates)
                name = node["metadata"]["name"]
                pod["spec"]["nodeName"] = name
                used[name][0] += _millicores(pod)
                used[name][1] += 1
        pods.append(pod)
    return Instance(seed=seed, namespace=namespace, nodes=tuple(nodes), pods=tuple(pods))


def _millicores(pod: Manifest) -> int:
    cpu = str(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"])
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def _node_millicores(node: Manifest) -> int:
    cpu = str(node["status"]["allocatable"]["cpu"])
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def _tolerated(pod: Manifest, taint: dict[str, str]) -> bool:
    for t in pod["spec"].get("tolerations", []):
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("key") and t["key"] != taint["key"]:
            continue
        if t.get("operator") == "Exists" or t.get("value", "") == taint["value"]:
            return True
    return False


def _fits(node: Manifest, pod: Manifest, used: Sequence[int]) -> bool:
    """Node-level admission for a running pod: taints (a NoExecute one would evict it),
    nodeSelector, CPU and pod count."""
    labels = node["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in pod["spec"].get("nodeSelector", {}).items()):
        return False
    for taint in node["spec"].get("taints", []):
        if taint["effect"] != "PreferNoSchedule" and not _tolerated(pod, taint):
            return False
    alloc = node["status"]["allocatable"]
    return used[0] + _millicores(pod) <= _node_millicores(node) and used[1] + 1 <= int(
        alloc["pods"]
    )


# --- the two views -------------------------------------------------------------------------------


def snapshot_objects(
    nodes: Sequence[Manifest], pods: Sequence[Manifest], namespace: str
) -> list[Manifest]:
    """What the planner reads: Nodes Ready, pods with phases and resolved priorities, running
    pods owned by a ReplicaSet (so the planner may move them), and the Namespace."""
    objects: list[Manifest] = [
        builders.namespace(namespace, labels={"kubernetes.io/metadata.name": namespace})
    ]
    for node in nodes:
        obj = copy.deepcopy(node)
        obj["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
        objects.append(obj)
    for pod in pods:
        obj = copy.deepcopy(pod)
        spec = obj["spec"]
        spec.pop("priorityClassName", None)
        spec["priority"] = int(obj["metadata"]["annotations"].get(PRIORITY_ANNOTATION, "0"))
        name = obj["metadata"]["name"]
        obj["metadata"]["uid"] = f"uid-{name}"
        obj["metadata"]["ownerReferences"] = [
            builders.owner_reference("ReplicaSet", f"rs-{name}", uid=f"uid-rs-{name}")
        ]
        obj["status"] = {"phase": "Running" if spec.get("nodeName") else "Pending"}
        objects.append(obj)
    return objects


def pinned(pod: Manifest, node: str, *, name: str | None = None) -> Manifest:
    """``pod`` (unbound) with a required node affinity on ``metadata.name`` of ``node``, ANDed
    into each of its own required node affinity terms (the terms are ORed).

    A spread constraint with ``nodeAffinityPolicy: Honor`` counts only the nodes the pod's node
    affinity allows, so the pin would leave it one node to count. When the pod has no node
    selector or required node affinity of its own, every node passes Honor, which is then the
    same as ``Ignore``: such constraints are written as ``Ignore`` (the same rule for the pod as
    it was planned), so that the pinned pod's spread is judged over every domain."""
    obj = copy.deepcopy(pod)
    spec = obj["spec"]
    spec.pop("nodeName", None)
    if name is not None:
        obj["metadata"]["name"] = name
    own_affinity = spec.get("affinity", {}).get("nodeAffinity", {}).get(REQUIRED)
    if not spec.get("nodeSelector") and not own_affinity:
        for constraint in spec.get("topologySpreadConstraints", []):
            constraint["nodeAffinityPolicy"] = "Ignore"
    pin = {"key": "metadata.name", "operator": "In", "values": [node]}
    affinity = obj["spec"].setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    selector = node_affinity.setdefault(REQUIRED, {"nodeSelectorTerms": [{}]})
    for term in selector["nodeSelectorTerms"]:
        term.setdefault("matchFields", []).append(pin)
    return obj


def live_pod(pod: Manifest, node: str | None = None) -> Manifest:
    """The manifest to create: the non-preempting class, bound to ``node`` when given."""
    obj = copy.deepcopy(pod)
    obj["spec"]["priorityClassName"] = NEVER_CLASS
    obj["spec"].pop("nodeName", None)
    if node is not None:
        obj["spec"]["nodeName"] = node
    return obj
