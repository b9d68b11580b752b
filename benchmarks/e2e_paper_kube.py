"""One instance of the paper's grid on the real control plane, placed by the stock kube-scheduler.

The paper's protocol (``../shared/docs/paper.md`` section 1.3): create the nodes, apply the
ReplicaSets one after another, let the default scheduler (DefaultPreemption on) settle, then count
the pods actually Running per priority. Here the nodes are kwok nodes on a kwokctl control plane
(``testkit.cluster``) that one run shares across instances: each instance gets a namespace and
nodes of its own, deleted before the next one, and the PriorityClasses p1..p4 are made once.

"Settled" means: every pod of the namespace is bound or marked Unschedulable by kube-scheduler,
none is being deleted, and nothing changed for ``QUIET_SECONDS`` (a preemption deletes victims,
their ReplicaSet makes replacements, and those are tried again: a state is final only once that
has stopped); while an unbound pod holds a nomination (a preemptor waiting for its next attempt,
up to the 10 s maximum backoff later; or a nomination kube-scheduler left in place) the quiet
must last ``NOMINATED_QUIET_SECONDS``.

A quiet state is not always kube-scheduler's last word: a pod it found unschedulable waits in
its unschedulable queue until an event it deems relevant, or up to 5 minutes (the queue's
flush). A victim's deletion that freed room while a nominated preemptor held it, the preemptor
then bound elsewhere or into less, leaves such a pod Unschedulable beside room it fits in (seen in
the smoke run: a 150m pod beside 444m free). A fresh kube-scheduler would place it at once, so
counting that state as the default's would credit scheduler-ext with a pod the default places on
its own, and the rebuilt state (a fresh process) would differ. So while an unbound pod fits on a
node's free room (its requests against allocatable less the bound pods'), the kube-scheduler
given to ``wait_settled`` is restarted, as the flush would, up to ``MAX_RESTARTS`` times.

With ``guard_every`` = n, every n-th ReplicaSet gets a PodDisruptionBudget asking for all its
replicas (it allows no disruption; the paper's instances have none, the smoke run has some).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes.client.exceptions import ApiException

from benchmarks.e2e_paper_observe import GUARD_LABEL
from benchmarks.workloads_paper import PaperSpec, paper_node_capacity, paper_replicasets
from scheduler_ext.cluster.quantity import nanos
from testkit import builders
from testkit.builders import Manifest
from testkit.kube import Kube, condition
from testkit.wait import wait_for

PRIORITY_LEVELS = 4
"""PriorityClasses p1..p4 (values 1..4) cover every K of the grid."""
QUIET_SECONDS = 2.0
NOMINATED_QUIET_SECONDS = 12.0
POLL_SECONDS = 0.25
MAX_RESTARTS = 2
RESOURCES = ("cpu", "memory")

logger = logging.getLogger(__name__)


class Restartable(Protocol):
    """The kube-scheduler process placing the pods (``e2e_paper_procs.KubeScheduler``)."""

    def stop(self) -> None: ...

    def start(self) -> object: ...


@dataclass(frozen=True)
class Placement:
    running: dict[int, int]
    """Pods Running per priority."""
    pending: int
    seconds: float
    """From the first ReplicaSet applied until settled."""

    def vector(self, priorities: int) -> tuple[int, ...]:
        """Running pods per priority, highest first: what the paper compares lexicographically."""
        return tuple(self.running.get(p, 0) for p in range(priorities, 0, -1))


def ensure_priority_classes(kube: Kube) -> None:
    for k in range(1, PRIORITY_LEVELS + 1):
        try:
            kube.create(builders.priority_class(f"p{k}", k))
        except ApiException as exc:
            if exc.status != 409:  # already made by an earlier run on this cluster
                raise


def node_names(spec: PaperSpec, index: int) -> list[str]:
    return [f"i{index}-node-{i:02d}" for i in range(1, spec.nodes + 1)]


def create_nodes(kube: Kube, spec: PaperSpec, index: int) -> list[str]:
    cpu, memory = paper_node_capacity(spec, paper_replicasets(spec))
    manifests = [
        builders.node(name, cpu=f"{cpu}m", memory=str(memory), pods=110)
        for name in node_names(spec, index)
    ]
    return kube.create_nodes(manifests, timeout=120)


def _state(pods: list[Any]) -> tuple[bool, bool, tuple[tuple[str, str], ...]]:
    """(every pod bound or found Unschedulable and none deleting, some unbound pod nominated,
    the sorted (pod, node) pairs)."""
    settled = True
    nominated = False
    pairs = []
    for pod in pods:
        node = pod.spec.node_name or ""
        pairs.append((pod.metadata.name, node))
        if pod.metadata.deletion_timestamp is not None:
            settled = False
        if node:
            continue
        if pod.status.nominated_node_name:
            nominated = True
        scheduled = condition(pod, "PodScheduled")
        if scheduled is None or scheduled.reason != "Unschedulable":
            settled = False
    return settled, nominated, tuple(sorted(pairs))


def _requests(pod: Any) -> dict[str, int]:
    total: Counter[str] = Counter()
    for container in pod.spec.containers or []:
        for name, amount in ((container.resources and container.resources.requests) or {}).items():
            total[name] += nanos(amount)
    return dict(total)


def free_room(nodes: Iterable[Any], pods: Iterable[Any]) -> dict[str, dict[str, int]]:
    """Per node, allocatable less the requests of the pods bound to it (none being deleted:
    kwok lets a deleted pod go at once, and one still deleting holds its room)."""
    room = {
        n.metadata.name: {r: nanos((n.status.allocatable or {}).get(r, 0)) for r in RESOURCES}
        for n in nodes
    }
    for pod in pods:
        if pod.spec.node_name in room:
            for name, amount in _requests(pod).items():
                if name in RESOURCES:
                    room[pod.spec.node_name][name] -= amount
    return room


def fitting(pending: Iterable[Any], room: dict[str, dict[str, int]]) -> list[tuple[str, str]]:
    """(pod, node) for each unbound pod that fits on some node's free room by its requests (the
    paper's pods have no other constraint)."""
    found = []
    for pod in pending:
        wanted = _requests(pod)
        node = next(
            (n for n, free in room.items() if all(wanted.get(r, 0) <= free[r] for r in RESOURCES)),
            None,
        )
        if node is not None:
            found.append((pod.metadata.name, node))
    return found


def _missed(kube: Kube, pods: list[Any]) -> list[tuple[str, str]]:
    pending = [p for p in pods if not p.spec.node_name and p.metadata.deletion_timestamp is None]
    if not pending:
        return []
    everywhere = kube.core.list_pod_for_all_namespaces().items
    return fitting(pending, free_room(kube.kwok_nodes(), everywhere))


def wait_settled(
    kube: Kube,
    namespace: str,
    expected: int,
    timeout: float = 300.0,
    *,
    scheduler: Restartable | None = None,
) -> None:
    """Until ``expected`` pods exist, each bound or Unschedulable, unchanged for QUIET_SECONDS;
    with ``scheduler``, also until no unbound pod fits beside free room (module docstring)."""
    deadline = time.monotonic() + timeout
    last: tuple[tuple[str, str], ...] | None = None
    since = time.monotonic()
    restarts = 0
    while time.monotonic() < deadline:
        pods = kube.pods(namespace)
        settled, nominated, pairs = _state(pods)
        alive = sum(1 for p in pods if p.metadata.deletion_timestamp is None)
        quiet = NOMINATED_QUIET_SECONDS if nominated else QUIET_SECONDS
        if pairs != last:
            last, since = pairs, time.monotonic()
        elif settled and alive >= expected and time.monotonic() - since >= quiet:
            missed = _missed(kube, pods) if scheduler is not None else []
            if scheduler is None or not missed or restarts == MAX_RESTARTS:
                return
            restarts += 1
            logger.info("%s: %s fit beside free room: kube-scheduler restarted", namespace, missed)
            scheduler.stop()
            scheduler.start()
            last, since = None, time.monotonic()
        time.sleep(POLL_SECONDS)
    unsettled = [
        (p.metadata.name, p.spec.node_name, p.status.nominated_node_name, p.status.conditions)
        for p in kube.pods(namespace)
        if p.metadata.deletion_timestamp is not None or not p.spec.node_name
    ]
    raise TimeoutError(
        f"{namespace}: kube-scheduler did not settle within {timeout:.0f}s: {unsettled[:5]}"
    )


def replicaset_manifests(spec: PaperSpec, namespace: str, guard_every: int = 0) -> list[Manifest]:
    """The instance's ReplicaSets in the paper's order, each followed by its budget if guarded."""
    manifests: list[Manifest] = []
    for i, rs in enumerate(paper_replicasets(spec)):
        guarded = guard_every > 0 and i % guard_every == 0
        labels = {"app": rs.name, **({GUARD_LABEL: "true"} if guarded else {})}
        manifests.append(
            builders.replicaset(
                rs.name,
                namespace=namespace,
                replicas=rs.replicas,
                labels=labels,
                requests={"cpu": f"{rs.cpu_m}m", "memory": str(rs.memory)},
                priority_class_name=f"p{rs.priority}",
            )
        )
        if guarded:
            manifests.append(
                builders.pdb(
                    rs.name, namespace=namespace, match_labels=labels, min_available=rs.replicas
                )
            )
    return manifests


def apply_and_settle(
    kube: Kube,
    spec: PaperSpec,
    namespace: str,
    guard_every: int = 0,
    *,
    scheduler: Restartable | None = None,
) -> Placement:
    """The ReplicaSets one after another, each settled before the next, as the paper applied
    them; then the Running pods per priority."""
    kube.create(builders.namespace(namespace))
    started = time.monotonic()
    total = 0
    for manifest in replicaset_manifests(spec, namespace, guard_every):
        kube.create(manifest)
        if manifest["kind"] == "ReplicaSet":
            total += manifest["spec"]["replicas"]
            wait_settled(kube, namespace, total, scheduler=scheduler)
    return placement(kube, namespace, time.monotonic() - started)


def placement(kube: Kube, namespace: str, seconds: float) -> Placement:
    running: Counter[int] = Counter()
    pending = 0
    for pod in kube.pods(namespace):
        if pod.metadata.deletion_timestamp is not None:
            continue
        if pod.spec.node_name and pod.status.phase == "Running":
            running[int(pod.spec.priority or 0)] += 1
        elif not pod.spec.node_name:
            pending += 1
    return Placement(running=dict(running), pending=pending, seconds=seconds)


def delete_pods(kube: Kube, namespace: str, timeout: float = 180.0) -> None:
    """Delete the namespace and wait until none of its pods is left (the namespace object itself
    may stay Terminating a while: it holds no room)."""
    kube.delete_namespace(namespace)
    wait_for(
        lambda: len(kube.pods(namespace)),
        lambda left: left == 0,
        description=f"the pods of {namespace} gone",
        timeout=timeout,
    )


def delete_instance(kube: Kube, namespaces: list[str], nodes: list[str]) -> None:
    """Nothing of the instance left that the next one (or kube-scheduler's next process) could
    see: its pods gone, then its nodes."""
    for namespace in namespaces:
        delete_pods(kube, namespace)
    kube.delete_nodes(nodes)
    names = set(nodes)
    wait_for(
        lambda: [n.metadata.name for n in kube.core.list_node().items if n.metadata.name in names],
        lambda left: not left,
        description="the instance's nodes gone",
        timeout=120,
    )
