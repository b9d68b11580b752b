"""What ``benchmarks.e2e_paper`` counts on the live cluster before and after scheduler-ext acts.

Pods are read from the API server, never from the plan: the placement after a plan is what is
Running then. A plan's expected end state is derived per (ReplicaSet, node), since a moved pod
comes back as a new pod of its ReplicaSet: the Running pods before, minus each move's origin and
each eviction, plus each move's destination and each binding. From it:

- *pods lost*: per ReplicaSet, Running pods the plan did not mean to take away and that are not
  Running after (an aborted plan's evicted victims without a running replacement count);
- *off plan*: pods a Completed plan puts on a node (or leaves there) that are not Running there
  after, counted per (ReplicaSet, node);
- *PDB violations*: pods covered by a PodDisruptionBudget that allowed no disruption (every
  guarded ReplicaSet's budget asks for all its replicas) whose pod was gone after the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from testkit.kube import Kube, is_running

GUARD_LABEL = "e2e-paper/guarded"
"""On the pods of ReplicaSets that a budget allowing no disruption covers."""


@dataclass(frozen=True)
class SeenPod:
    name: str
    uid: str
    owner: str
    """The ReplicaSet's name ("" for a pod without one)."""
    node: str
    running: bool
    priority: int
    guarded: bool


def observe(kube: Kube, namespace: str) -> list[SeenPod]:
    """The namespace's pods that are not being deleted."""
    seen = []
    for pod in kube.pods(namespace):
        if pod.metadata.deletion_timestamp is not None:
            continue
        owners = pod.metadata.owner_references or []
        labels = pod.metadata.labels or {}
        seen.append(
            SeenPod(
                name=pod.metadata.name,
                uid=pod.metadata.uid,
                owner=next((o.name for o in owners if o.kind == "ReplicaSet"), ""),
                node=pod.spec.node_name or "",
                running=bool(pod.spec.node_name) and is_running(pod),
                priority=int(pod.spec.priority or 0),
                guarded=labels.get(GUARD_LABEL) == "true",
            )
        )
    return seen


def running_vector(pods: Iterable[SeenPod], priorities: Iterable[int]) -> list[int]:
    counts = Counter(p.priority for p in pods if p.running)
    return [counts.get(k, 0) for k in priorities]


def layout(pods: Iterable[SeenPod]) -> Counter[tuple[str, str]]:
    """Running pods per (ReplicaSet, node)."""
    return Counter((p.owner, p.node) for p in pods if p.running)


def _name(key: str) -> str:
    return key.split("/", 1)[1]


def expected_layout(before: list[SeenPod], spec: Mapping[str, Any]) -> Counter[tuple[str, str]]:
    """What a plan, carried out completely, leaves Running per (ReplicaSet, node)."""
    owner = {p.name: p.owner for p in before}
    expected = layout(before)
    for move in spec.get("moves", []):
        rs = owner.get(_name(move["pod"]), "")
        expected[(rs, move["fromNode"])] -= 1
        expected[(rs, move["toNode"])] += 1
    for eviction in spec.get("evictions", []):
        expected[(owner.get(_name(eviction["pod"]), ""), eviction["node"])] -= 1
    for binding in spec.get("bindings", []):
        expected[(owner.get(_name(binding["pod"]), ""), binding["node"])] += 1
    return expected


@dataclass(frozen=True)
class Outcome:
    lost: int
    off_plan: int
    pdb_violations: int
    guarded: int


def account(
    before: list[SeenPod], after: list[SeenPod], spec: Mapping[str, Any], completed: bool
) -> Outcome:
    """Pods lost, off plan and budget violations of one plan (``spec`` empty: none carried
    out)."""
    by_owner: Counter[str] = Counter(p.owner for p in after if p.running)
    kept: Counter[str] = Counter(p.owner for p in before if p.running)
    owner = {p.name: p.owner for p in before}
    for eviction in spec.get("evictions", []):
        kept[owner.get(_name(eviction["pod"]), "")] -= 1
    lost = sum(max(0, kept[rs] - by_owner[rs]) for rs in kept)
    off_plan = 0
    if completed:
        expected, actual = expected_layout(before, spec), layout(after)
        off_plan = sum(max(0, expected[k] - actual[k]) for k in expected)
    alive = {p.uid for p in after}
    guarded = [p for p in before if p.guarded and p.running]
    violations = sum(1 for p in guarded if p.uid not in alive)
    return Outcome(lost=lost, off_plan=off_plan, pdb_violations=violations, guarded=len(guarded))
