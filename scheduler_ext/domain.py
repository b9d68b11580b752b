"""Domain values shared by every layer: the cluster as the planner sees it, and the plan it makes.

Everything here is a frozen dataclass built once from Kubernetes objects (``cluster.convert``) and
never mutated, so a snapshot can be handed to a solver thread or process without copies or locks.
Quantities are plain integers in Kubernetes' canonical units: CPU in millicores, memory,
ephemeral-storage and hugepages in bytes, extended resources (``nvidia.com/gpu``) in units. The
``pods`` resource is not part of a pod's requests: every pod takes exactly one of its node's
``pods`` allocatable, which the model adds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"

DEFAULT_SCHEDULER = "default-scheduler"
"""``spec.schedulerName`` of a pod that names none, and the scheduler this project plans for."""

SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
"""``scheduling.SystemCriticalPriority``: pods at or above it are the cluster's own."""

LabelItems = tuple[tuple[str, str], ...]
"""Labels or annotations as sorted ``(key, value)`` pairs, hashable unlike a dict."""


def label_items(mapping: Mapping[str, str] | None) -> LabelItems:
    """Freeze a label or annotation mapping into sorted pairs."""
    return tuple(sorted((mapping or {}).items()))


@dataclass(frozen=True)
class ResourceList:
    """Named integer quantities; zero amounts are dropped so equal lists compare equal."""

    amounts: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, int]) -> ResourceList:
        return cls(tuple(sorted((k, v) for k, v in mapping.items() if v != 0)))

    def get(self, name: str) -> int:
        for key, value in self.amounts:
            if key == name:
                return value
        return 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.amounts)

    def names(self) -> Iterator[str]:
        return (key for key, _ in self.amounts)

    def __add__(self, other: ResourceList) -> ResourceList:
        total = self.as_dict()
        for key, value in other.amounts:
            total[key] = total.get(key, 0) + value
        return ResourceList.of(total)


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"  # NoSchedule | PreferNoSchedule | NoExecute


@dataclass(frozen=True)
class Toleration:
    key: str = ""  # empty key with operator Exists tolerates everything
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # empty matches every effect


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions``/``matchFields`` entry of a node selector term or label selector."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeSelectorTerm:
    """Terms of required node affinity are ORed; requirements inside one term are ANDed."""

    match_expressions: tuple[Requirement, ...] = ()
    match_fields: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class LabelSelector:
    """A ``metav1.LabelSelector``; an empty selector matches every object."""

    match_labels: LabelItems = ()
    match_expressions: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class HostPort:
    port: int
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class PodAffinityTerm:
    """A required inter-pod affinity or anti-affinity term, as kube-scheduler's InterPodAffinity
    filter reads it: the pods matching ``selector`` whose namespace is listed in ``namespaces`` or
    matches ``namespace_selector``, counted per topology domain (the value of the node label
    ``topology_key``). Empty ``namespaces`` and no ``namespace_selector`` mean the namespace of
    the pod that carries the term. ``matchLabelKeys`` and ``mismatchLabelKeys`` are already folded
    into ``selector`` (as the API server does), so a term is one value."""

    selector: LabelSelector
    topology_key: str
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None


PodAntiAffinityTerm = PodAffinityTerm
"""The same shape; kept while callers move to ``PodAffinityTerm``."""


@dataclass(frozen=True)
class SpreadConstraint:
    """A ``topologySpreadConstraints`` entry with ``whenUnsatisfiable: DoNotSchedule``, as
    kube-scheduler's PodTopologySpread filter reads it (``ScheduleAnyway`` only scores, so it is
    not kept): the pods of the carrier's namespace matching ``selector`` (``matchLabelKeys`` folded
    in; None matches no pod), counted per domain of ``topology_key`` over the nodes that count
    (``honor_node_affinity``: only nodes the carrier's node selector and required node affinity
    allow, the default; ``honor_node_taints``: only nodes whose taints it tolerates, not the
    default). A domain may receive a carrier only while its count plus one exceeds the smallest
    count by at most ``max_skew``; fewer domains than ``min_domains`` make the smallest count 0."""

    max_skew: int
    topology_key: str
    selector: LabelSelector | None
    min_domains: int = 1
    honor_node_affinity: bool = True
    honor_node_taints: bool = False


@dataclass(frozen=True)
class OwnerRef:
    kind: str
    name: str
    uid: str = ""


@dataclass(frozen=True)
class Node:
    name: str
    allocatable: ResourceList  # includes "pods"
    labels: LabelItems = ()
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    ready: bool = True


@dataclass(frozen=True)
class Pod:
    """A pod's scheduling facts; ``node_name`` is set for bound pods, None for pending ones."""

    namespace: str
    name: str
    uid: str = ""
    priority: int = 0
    priority_class_name: str = ""
    requests: ResourceList = ResourceList()  # effective requests, overhead included, no "pods"
    node_name: str | None = None
    phase: str = "Pending"
    labels: LabelItems = ()
    annotations: LabelItems = ()
    node_selector: LabelItems = ()
    required_node_affinity: tuple[NodeSelectorTerm, ...] = ()  # empty: no constraint
    tolerations: tuple[Toleration, ...] = ()
    host_ports: tuple[HostPort, ...] = ()
    owner: OwnerRef | None = None  # the controller owner reference, if any
    terminating: bool = False  # metadata.deletionTimestamp is set
    local_storage: bool = False  # emptyDir not in memory, or hostPath
    scheduler_name: str = DEFAULT_SCHEDULER
    anti_affinity: tuple[PodAffinityTerm, ...] = ()  # required pod anti-affinity terms
    affinity: tuple[PodAffinityTerm, ...] = ()  # required pod affinity terms
    spread: tuple[SpreadConstraint, ...] = ()  # DoNotSchedule topology spread constraints
    preempts: bool = True  # preemptionPolicy is not Never: kube-scheduler may preempt for it
    unmodelled: str | None = None  # why a hard constraint keeps the planner from placing it
    volume_claims: tuple[str, ...] = ()
    """Its volumes backed by claims (PersistentVolumeClaim, generic ephemeral), described as
    ``PersistentVolumeClaim volume "data"``. A snapshot has no PersistentVolumes, so where such a
    volume attaches is unknown: a pending pod with one is ``unmodelled``; a running pod with one is
    governed by the eviction rules instead (``model/movability.py``, rule ``pvc``)."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def bound(self) -> bool:
        return self.node_name is not None

    def demand(self) -> dict[str, int]:
        """What the pod takes from its node: its effective requests plus one ``pods`` slot."""
        demand = self.requests.as_dict()
        demand[PODS] = 1
        return demand


@dataclass(frozen=True)
class DisruptionBudget:
    """A PodDisruptionBudget as the Eviction API reads it: the pods it covers and its status."""

    namespace: str
    name: str
    selector: LabelSelector | None  # None (no selector) matches no pod, as in policy/v1
    disruptions_allowed: int  # status.disruptionsAllowed
    generation: int = 0  # metadata.generation
    observed_generation: int = 0  # status.observedGeneration: behind generation, status is stale
    disrupted_pods: int = 0  # entries in status.disruptedPods: evictions not yet confirmed


@dataclass(frozen=True)
class PriorityClass:
    name: str
    value: int
    global_default: bool = False
    preempts: bool = True  # preemptionPolicy is not Never; its pods inherit it at admission


BUILTIN_PRIORITY_CLASSES: Mapping[str, PriorityClass] = {
    pc.name: pc
    for pc in (
        PriorityClass("system-cluster-critical", SYSTEM_CRITICAL_PRIORITY),
        PriorityClass("system-node-critical", SYSTEM_CRITICAL_PRIORITY + 1000),
    )
}
"""The classes every API server creates (``scheduling.SystemPriorityClasses``): the
system-critical ones, present even when a snapshot does not list them."""


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: LabelItems = ()


@dataclass(frozen=True)
class Cluster:
    """Every object the planner reads; pods that no longer hold resources (Succeeded, Failed) are
    already dropped by the converter."""

    nodes: tuple[Node, ...] = ()
    pods: tuple[Pod, ...] = ()
    budgets: tuple[DisruptionBudget, ...] = ()
    priority_classes: tuple[PriorityClass, ...] = ()
    namespaces: tuple[Namespace, ...] = ()

    def pods_on(self, node_name: str) -> Iterable[Pod]:
        return (pod for pod in self.pods if pod.node_name == node_name)


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    pod: str  # NAMESPACE/NAME of a pending pod
    node: str


@dataclass(frozen=True)
class Move:
    pod: str  # NAMESPACE/NAME of a running pod, evicted so that its replacement lands on to_node
    from_node: str
    to_node: str


@dataclass(frozen=True)
class Eviction:
    pod: str  # NAMESPACE/NAME of a running pod evicted without a planned new home
    node: str


@dataclass(frozen=True)
class Unplanned:
    pod: str
    reason: str


@dataclass(frozen=True)
class TierCount:
    priority: int
    before: int
    after: int
    class_names: tuple[str, ...] = ()  # the PriorityClasses of this value, for people to read


@dataclass(frozen=True)
class PlanStatus:
    optimal: bool  # the resulting placement is proven lexicographically optimal
    improves: bool  # strictly better than the current placement
    solver: str
    wall_seconds: float
    placed_by_priority: tuple[TierCount, ...]
    message: str = ""


@dataclass(frozen=True)
class PackingPlan:
    name: str
    bindings: tuple[Binding, ...]
    moves: tuple[Move, ...]
    evictions: tuple[Eviction, ...]
    unplanned: tuple[Unplanned, ...]
    status: PlanStatus
    extra: Mapping[str, object] = field(default_factory=dict)  # diagnostics, e.g. per-stage timings
