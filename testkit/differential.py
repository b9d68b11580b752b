"""The differential test against the real kube-scheduler (issue 11): the planner's plans and the
independent checker's verdicts, each judged by kube-scheduler itself on a kwokctl control plane.

Neither the planner nor the checker can be trusted to be right about Kubernetes on its own: both
were written from the Kubernetes source by hand. So for each random cluster
(``testkit/diffgen.py``):

1. the planner plans it in process, as the property tests call it, and the checker checks the plan;
2. the cluster is created for real in the plan's end state: the nodes, and every running pod the
   plan leaves in place, bound by ``spec.nodeName``; then each pod the plan places (bindings and
   moves' replacements), in the order the executor follows (``arrival_order``: the landings the
   plan's ``landingOrder`` leaves free, then those it orders), with its own spec plus a required
   node affinity on ``metadata.name`` of its planned node (``diffgen.pinned``), is created alone
   and must be bound there by kube-scheduler;
3. a sample of (pending pod, node) pairs drawn from all pending pods and all nodes, whatever the
   plan did with them, that pass the node-level filters, is judged by the checker in that end
   state (``testkit/verdicts.py``) and by the model (``model_allows``: the planner asked to bind
   the pinned pod alone, with every other pod fixed); each pair is then created pinned the same
   way (a copy named ``probe-N``) and kube-scheduler must agree: bind it where the checker allows
   it, and otherwise leave it Pending with the reason of the rule the checker names. Each rule is
   sampled evenly.

Every created pod has one priority class, value 0 and ``preemptionPolicy: Never``, so that
kube-scheduler never preempts: what it answers is its filters' verdict. One control plane serves
every cluster: each gets its own namespace and node names, and its pods and nodes are deleted
before the next (a spread constraint that ignores node affinity counts every node).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from scheduler_ext.cluster.convert import namespace_from, node_from, pod_from
from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster, Pod
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from testkit import builders, diffgen
from testkit.builders import Manifest
from testkit.checker import check_plan
from testkit.diffgen import Instance
from testkit.interpod import Placed
from testkit.kube import Kube, condition
from testkit.verdicts import ALLOWED, NODE, Verdict, agrees, verdict
from testkit.wait import wait_for

DECISION_TIMEOUT = 20.0
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


@dataclass(frozen=True)
class Disagreement:
    what: str
    """``plan check`` (the checker refuses the plan), ``planned`` (a pod the plan places) or
    ``probe`` (a sampled pair)."""
    cluster: str
    pod: str
    node: str
    checker: str
    kube_scheduler: str

    def __str__(self) -> str:
        return (
            f"DISAGREEMENT ({self.what}) on node {self.node}\n  pod: {self.pod}\n"
            f"  checker: {self.checker}\n  kube-scheduler: {self.kube_scheduler}\n"
            f"  cluster:\n{self.cluster}"
        )


@dataclass
class Tally:
    clusters: int = 0
    planned: int = 0
    """Pods the plans placed (bindings and moves), each checked on kube-scheduler."""
    planned_by: Counter[str] = field(default_factory=Counter)
    """The planned pods by the inter-pod constraint they carry (``constraint_kind``)."""
    probes: Counter[str] = field(default_factory=Counter)
    """Sampled pairs checked, by the checker's verdict."""
    disagreements: list[Disagreement] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        per_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.probes.items()))
        per_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(self.planned_by.items()))
        return (
            f"{self.clusters} clusters, {self.planned} planned pods ({per_kind}) and "
            f"{sum(self.probes.values())} sampled pairs ({per_rule}) checked on kube-scheduler, "
            f"{len(self.disagreements)} disagreements, {self.seconds:.0f} s"
        )


def domain_pod(manifest: Manifest, namespace: str) -> Pod:
    """The pod as the checker reads it (through the converter, as a snapshot is read)."""
    obj = diffgen.snapshot_objects([], [manifest], namespace)[1]
    pod = pod_from(obj)
    assert pod is not None
    return pod


def constraint_kind(pod: Pod) -> str:
    """What a planned pod carries, for the tally: ``affinity``, ``anti-affinity``, ``spread``
    (the first that applies) or ``plain``."""
    for kind, present in (
        ("affinity", pod.affinity),
        ("spread", pod.spread),
        ("anti-affinity", pod.anti_affinity),
    ):
        if present:
            return kind
    return "plain"


def arrival_order(plan: Mapping[str, Any]) -> list[str]:
    """The names of the pods the plan places, in the order the executor creates them: those the
    plan's ``landingOrder`` leaves free (they may land at any time after the evictions) in the
    plan's order (moves, then bindings), then those of ``landingOrder``, in its order."""
    spec = plan["spec"]
    landing = [*(m["pod"] for m in spec["moves"]), *(b["pod"] for b in spec["bindings"])]
    diagnostics = plan["status"].get("diagnostics", {})
    ordered = list(diagnostics.get("landingOrder", {}).get("pods", []))
    free = [key for key in landing if key not in set(ordered)]
    return [key.split("/", 1)[1] for key in [*free, *ordered]]


def _running(placed: Placed) -> str:
    return ", ".join(f"{p.name}@{where}" for p, where in placed)


def model_allows(view: Cluster, placed: Placed, pod: Pod) -> bool:
    """The model's verdict on a pinned pod: does the planner bind ``pod`` (pending) with
    ``placed`` running and nothing movable (bare pods)? Asked in process, as the checker is."""
    running = tuple(
        dataclasses.replace(p, node_name=where, phase="Running", owner=None) for p, where in placed
    )
    cluster = dataclasses.replace(view, pods=(*running, pod))
    plan = make_plan(cluster, PlanOptions(time_limit_seconds=2.0), isolate=False)
    return any(b.pod == pod.key for b in plan.bindings)


def _outcome(pod: Any) -> tuple[str | None, str] | None:
    """(bound node, "") or (None, Unschedulable message) once kube-scheduler decided, else None."""
    if pod.spec.node_name:
        return pod.spec.node_name, ""
    scheduled = condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.status == "False" and scheduled.reason:
        return None, f"{scheduled.reason}: {scheduled.message}"
    return None


class Differential:
    """Runs instances on one control plane (``kube``), adding up a ``Tally``."""

    def __init__(
        self, kube: Kube, *, probes_per_rule: int = 1, max_probes: int = 5, time_limit: float = 2.0
    ) -> None:
        self.kube = kube
        self.probes_per_rule = probes_per_rule
        self.max_probes = max_probes
        self.time_limit = time_limit
        self.tally = Tally()
        try:
            kube.create(builders.priority_class(diffgen.NEVER_CLASS, 0, preemption_policy="Never"))
        except ApiException as exc:
            if exc.status != 409:
                raise

    # --- one instance ---------------------------------------------------------------------------

    def run(self, seed: int) -> list[Disagreement]:
        """Plan, create and probe the cluster of ``seed``; returns its disagreements."""
        start = time.monotonic()
        instance = diffgen.random_instance(seed, namespace=f"diff-{seed}", node_prefix=f"s{seed}-")
        found: list[Disagreement] = []
        self.kube.create(builders.namespace(instance.namespace))
        try:
            found = self._run(instance)
        finally:
            self._clean(instance)
        self.tally.clusters += 1
        self.tally.disagreements.extend(found)
        self.tally.seconds += time.monotonic() - start
        return found

    def _run(self, instance: Instance) -> list[Disagreement]:
        ns = instance.namespace
        self.kube.create_nodes(instance.nodes)
        objects = diffgen.snapshot_objects(self._live_nodes(instance), instance.pods, ns)
        cluster = cluster_from_objects(objects)
        plan = plan_to_dict(
            make_plan(cluster, PlanOptions(time_limit_seconds=self.time_limit), isolate=False)
        )
        found: list[Disagreement] = []
        try:
            check_plan(cluster, plan)
        except AssertionError as exc:
            found.append(
                Disagreement("plan check", instance.describe(), "-", "-", str(exc), f"plan {plan}")
            )
        spec: dict[str, Any] = plan["spec"]
        moved = {m["pod"].split("/", 1)[1]: m["toNode"] for m in spec["moves"]}
        evicted = {e["pod"].split("/", 1)[1] for e in spec["evictions"]}
        bound = {b["pod"].split("/", 1)[1]: b["node"] for b in spec["bindings"]}
        by_name = {p["metadata"]["name"]: p for p in instance.pods}
        view = Cluster(
            nodes=tuple(node_from(o) for o in objects if o["kind"] == "Node"),
            namespaces=(namespace_from(objects[0]),),
        )
        placed: Placed = []
        for name, manifest in by_name.items():
            node = manifest["spec"].get("nodeName")
            if node and name not in moved and name not in evicted:
                self.kube.create(diffgen.live_pod(manifest, node))
                placed.append((domain_pod(manifest, ns), node))
        for name in arrival_order(plan):
            node = moved.get(name) or bound[name]
            manifest = by_name[name]
            pinned = diffgen.pinned(manifest, node)
            found.extend(self._decide("planned", instance, view, placed, pinned, node))
            self.tally.planned += 1
            self.tally.planned_by[constraint_kind(domain_pod(manifest, ns))] += 1
        for pinned, node in self._sample(instance, view, placed):
            found.extend(self._decide("probe", instance, view, placed, pinned, node, keep=False))
        return found

    def _live_nodes(self, instance: Instance) -> list[Manifest]:
        """The instance's nodes as the API server holds them, once the node lifecycle controller
        has tainted the cordoned ones ``node.kubernetes.io/unschedulable:NoSchedule``: spread's
        ``nodeTaintsPolicy: Honor`` reads that taint (seed 1386 of the first long run)."""
        names = {n["metadata"]["name"] for n in instance.nodes}

        def read() -> list[Any]:
            return [n for n in self.kube.kwok_nodes() if n.metadata.name in names]

        def settled(nodes: list[Any]) -> bool:
            return len(nodes) == len(names) and all(
                not n.spec.unschedulable
                or any(t.key == UNSCHEDULABLE_TAINT for t in n.spec.taints or [])
                for n in nodes
            )

        nodes = wait_for(read, settled, description="nodes with their taints", timeout=30)
        found: list[Manifest] = []
        for node in nodes:
            obj = self.kube.api.sanitize_for_serialization(node)
            found.append({"apiVersion": "v1", "kind": "Node", **obj})
        return found

    def _sample(
        self, instance: Instance, view: Cluster, placed: Placed
    ) -> list[tuple[Manifest, str]]:
        """Up to ``probes_per_rule`` pairs per checker verdict (node-level ones left out), at
        most ``max_probes`` in all, drawn from every pending pod and every node."""
        rng = random.Random(instance.seed * 7919 + 1)
        pending = [p for p in instance.pods if not p["spec"].get("nodeName")]
        by_rule: dict[str, list[tuple[Manifest, str]]] = {}
        pairs = [(p, n["metadata"]["name"]) for p in pending for n in instance.nodes]
        rng.shuffle(pairs)
        for k, (pod, node) in enumerate(pairs):
            pinned = diffgen.pinned(pod, node, name=f"probe-{k}")
            rule = verdict(view, placed, domain_pod(pinned, instance.namespace), node).rule
            if rule != NODE:
                by_rule.setdefault(rule, []).append((pinned, node))
        chosen = [
            pair for pairs_of in by_rule.values() for pair in pairs_of[: self.probes_per_rule]
        ]
        rng.shuffle(chosen)
        return chosen[: self.max_probes]

    def _decide(
        self,
        what: str,
        instance: Instance,
        view: Cluster,
        placed: Placed,
        manifest: Manifest,
        node: str,
        *,
        keep: bool = True,
    ) -> list[Disagreement]:
        """Create ``manifest`` (pinned to ``node``), wait for kube-scheduler's decision and
        compare it with the checker's; a pod that stays is added to ``placed``."""
        ns = instance.namespace
        pod = domain_pod(manifest, ns)
        expected = verdict(view, placed, pod, node)
        if what == "probe":
            self.tally.probes[expected.rule] += 1
        name = manifest["metadata"]["name"]
        self.kube.create(diffgen.live_pod(manifest))
        outcome = wait_for(
            lambda: _outcome(self.kube.pod(name, ns)),
            lambda o: o is not None,
            description=f"kube-scheduler's decision on {ns}/{name}",
            timeout=DECISION_TIMEOUT,
        )
        assert outcome is not None
        scheduled_on, message = outcome
        wanted = Verdict(ALLOWED) if what == "planned" else expected
        found = []
        if what == "probe" and model_allows(view, placed, pod) != (expected.rule == ALLOWED):
            model = "binds it" if expected.rule != ALLOWED else "does not bind it"
            found.append(
                Disagreement(
                    "probe, the model",
                    f"{instance.describe()}\n  running: {_running(placed)}",
                    diffgen.pod_line(manifest),
                    node,
                    str(expected),
                    f"(not asked) the model, planning the pinned pod alone, {model}",
                )
            )
        if not agrees(wanted, scheduled_on, message, node):
            said = f"bound to {scheduled_on}" if scheduled_on else f"Pending: {message}"
            checker = str(expected) if what == "probe" else f"plan places it; checker: {expected}"
            cluster = f"{instance.describe()}\n  running when decided: {_running(placed)}"
            found.append(
                Disagreement(what, cluster, diffgen.pod_line(manifest), node, checker, said)
            )
        if keep and scheduled_on is not None:
            placed.append((pod, scheduled_on))
        else:
            self._delete_pod(name, ns)
        return found

    # --- cleaning up ----------------------------------------------------------------------------

    def _delete_pod(self, name: str, namespace: str) -> None:
        try:
            self.kube.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except ApiException as exc:
            if exc.status != 404:
                raise
        wait_for(
            lambda: self.kube.pod_or_none(name, namespace),
            lambda p: p is None,
            description=f"pod {namespace}/{name} deleted",
            timeout=30,
        )

    def _clean(self, instance: Instance) -> None:
        """Delete the instance's pods and nodes (and wait until they are gone), then its
        namespace (not waited for: nothing is left in it)."""
        ns = instance.namespace
        self.kube.core.delete_collection_namespaced_pod(ns, grace_period_seconds=0)
        wait_for(
            lambda: self.kube.pods(ns),
            lambda pods: not pods,
            description=f"pods of {ns} deleted",
            timeout=60,
            describe=lambda pods: [p.metadata.name for p in pods],
        )
        names = [n["metadata"]["name"] for n in instance.nodes]
        self.kube.delete_nodes(names)
        wait_for(
            lambda: {n.metadata.name for n in self.kube.kwok_nodes()} & set(names),
            lambda left: not left,
            description=f"nodes of {ns} deleted",
            timeout=60,
        )
        self.kube.delete_namespace(ns)
