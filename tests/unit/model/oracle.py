"""An independent oracle for the inter-pod rules: pod by pod, as kube-scheduler decides them.

It shares no code with ``scheduler_ext.model`` (only the checker's selector and node helpers) and
decides a final placement the slow, obvious way: evict everything the plan evicts, then look for
*any* order of the landing pods in which each one passes kube-scheduler v1.36's filters against
the pods present at that moment (``interpodaffinity/filtering.go``: satisfyPodAffinity,
satisfyPodAntiAffinity, satisfyExistingPodsAntiAffinity; ``podtopologyspread/filtering.go``
Filter with ``common.go``'s counting), trying every permutation. The ``preemptionPolicy: Never``
rule is the planner's conservative one (no lower-priority pod evicted in a plan where a Never pod
lands). ``best_plan`` enumerates every placement of a tiny cluster for the exact optimum.

The independent checker (``testkit/checker.py``) does not know affinity, spread or preemption
policies yet (the rules engineer's branch adds them); this oracle stands in for those checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from scheduler_ext.domain import Cluster, LabelItems, Node, Pod, PodAffinityTerm, Toleration
from testkit import checker, matching

Placement = Mapping[str, str | None]


def _term_selects(
    term: PodAffinityTerm, owner: Pod, other: Pod, ns: Mapping[str, LabelItems]
) -> bool:
    """``fwk.AffinityTerm.Matches``: namespaces (the owner's by default) or namespaceSelector."""
    if not term.namespaces and term.namespace_selector is None:
        in_scope = other.namespace == owner.namespace
    else:
        labels = dict(ns.get(other.namespace, ()))
        labels.setdefault("kubernetes.io/metadata.name", other.namespace)
        in_scope = other.namespace in term.namespaces or (
            term.namespace_selector is not None
            and matching.selector_matches(term.namespace_selector, tuple(sorted(labels.items())))
        )
    return in_scope and matching.selector_matches(term.selector, other.labels)


class Kube:
    """The pods present on nodes, and kube-scheduler's inter-pod filters for one more pod."""

    def __init__(self, cluster: Cluster, present: Mapping[str, str]) -> None:
        self.cluster = cluster
        self.nodes = {n.name: n for n in cluster.nodes}
        self.labels = {n.name: dict(n.labels) for n in cluster.nodes}
        self.ns = {n.name: n.labels for n in cluster.namespaces}
        self.pods = {p.key: p for p in cluster.pods}
        self.present = dict(present)  # pod key -> node

    def _existing(self) -> list[tuple[Pod, dict[str, str]]]:
        return [(self.pods[k], self.labels[n]) for k, n in self.present.items()]

    def anti_ok(self, pod: Pod, node: str) -> bool:
        here = self.labels[node]
        for other, where in self._existing():
            for term in other.anti_affinity:  # existing pods' anti-affinity
                key = term.topology_key
                if (
                    key in where
                    and here.get(key) == where[key]
                    and _term_selects(term, other, pod, self.ns)
                ):
                    return False
            for term in pod.anti_affinity:  # the pod's own
                key = term.topology_key
                if (
                    key in here
                    and where.get(key) == here[key]
                    and _term_selects(term, pod, other, self.ns)
                ):
                    return False
        return True

    def affinity_ok(self, pod: Pod, node: str) -> bool:
        if not pod.affinity:
            return True
        here = self.labels[node]
        if any(t.topology_key not in here for t in pod.affinity):
            return False
        matching = [
            (other, where)
            for other, where in self._existing()
            if all(_term_selects(t, pod, other, self.ns) for t in pod.affinity)
        ]
        if all(
            any(where.get(t.topology_key) == here[t.topology_key] for _, where in matching)
            for t in pod.affinity
        ):
            return True
        counted = [w for _, w in matching if any(t.topology_key in w for t in pod.affinity)]
        return not counted and all(_term_selects(t, pod, pod, self.ns) for t in pod.affinity)

    def _spread_counts(self, pod: Pod, index: int) -> tuple[dict[str, int], bool]:
        """Matching pods per domain over the nodes that count (``calPreFilterState``)."""
        constraint = pod.spread[index]
        key = constraint.topology_key
        counted = {n.name for n in self.cluster.nodes if self._counts_node(pod, index, n)}
        counts = {self.labels[n][key]: 0 for n in counted}
        selector = constraint.selector
        empty = selector is None or not (selector.match_labels or selector.match_expressions)
        if selector is None or empty:
            return counts, empty  # labels.Nothing() or Everything(): countPodsMatchSelector is 0
        for other_key, node in self.present.items():
            other = self.pods[other_key]
            if other.terminating or other.namespace != pod.namespace or node not in counted:
                continue
            if matching.selector_matches(selector, other.labels):
                counts[self.labels[node][key]] += 1
        return counts, empty

    def _counts_node(self, pod: Pod, index: int, node: Node) -> bool:
        constraint = pod.spread[index]
        labels = self.labels[node.name]
        if any(c.topology_key not in labels for c in pod.spread):
            return False
        if constraint.honor_node_affinity and checker.node_rejects(_affinity_only(pod), node):
            return False
        return not (constraint.honor_node_taints and _untolerated(pod, node))

    def spread_ok(self, pod: Pod, node: str) -> bool:
        for i, constraint in enumerate(pod.spread):
            here = self.labels[node]
            if constraint.topology_key not in here:
                return False
            counts, empty = self._spread_counts(pod, i)
            if not counts:
                continue  # no eligible domain: the minimum is MaxInt32
            low = 0 if len(counts) < constraint.min_domains else min(counts.values())
            selector = constraint.selector
            self_match = selector is not None and (
                empty or matching.selector_matches(selector, pod.labels)
            )
            if (
                counts.get(here[constraint.topology_key], 0) + self_match - low
                > constraint.max_skew
            ):
                return False
        return True

    def allows(self, pod: Pod, node: str) -> bool:
        return self.anti_ok(pod, node) and self.affinity_ok(pod, node) and self.spread_ok(pod, node)


def _affinity_only(pod: Pod) -> Pod:
    """The pod with only its node selector and required node affinity (for nodeAffinityPolicy)."""
    return Pod(
        namespace=pod.namespace,
        name=pod.name,
        node_selector=pod.node_selector,
        required_node_affinity=pod.required_node_affinity,
        tolerations=(Toleration(operator="Exists"),),
    )


def _untolerated(pod: Pod, node: Node) -> bool:
    return any(
        t.effect in ("NoSchedule", "NoExecute")
        and not any(matching.tolerates(o, t) for o in pod.tolerations)
        for t in node.taints
    )


def order_exists(cluster: Cluster, final: Placement) -> bool:
    """Evictions first, then some order of the landing pods that kube-scheduler accepts."""
    stayed = {
        p.key: p.node_name for p in cluster.pods if p.node_name and final.get(p.key) == p.node_name
    }
    landing = [p for p in cluster.pods if final.get(p.key) and final[p.key] != p.node_name]
    for order in itertools.permutations(landing):
        kube = Kube(cluster, stayed)
        for pod in order:
            node = final[pod.key]
            assert node is not None
            if not kube.allows(pod, node):
                break
            kube.present[pod.key] = node
        else:
            return True
    return False


def order_passes(cluster: Cluster, final: Placement, order: Sequence[str]) -> bool:
    """Evictions first, then ``order`` (a plan's stated landing order), then the other landing
    pods: does each pass kube-scheduler's filters when it lands?"""
    stayed = {
        p.key: p.node_name for p in cluster.pods if p.node_name and final.get(p.key) == p.node_name
    }
    kube = Kube(cluster, stayed)
    pods = {p.key: p for p in cluster.pods}
    rest = [p.key for p in cluster.pods if final.get(p.key) and final[p.key] != p.node_name]
    for key in [*order, *(k for k in rest if k not in set(order))]:
        node = final[key]
        assert node is not None
        if not kube.allows(pods[key], node):
            return False
        kube.present[key] = node
    return True


def never_ok(cluster: Cluster, final: Placement) -> bool:
    """No Never pod lands in a plan that evicts a lower-priority pod without a new home."""
    evicted = [p for p in cluster.pods if p.node_name and final.get(p.key) is None]
    for pod in cluster.pods:
        lands = final.get(pod.key) and final[pod.key] != pod.node_name
        if lands and not pod.preempts and any(e.priority < pod.priority for e in evicted):
            return False
    return True


def valid(cluster: Cluster, final: Placement) -> checker.CheckResult | None:
    """The checker's verdict plus the inter-pod rules; None when the placement is no plan."""
    try:
        result = checker.validate_placement(cluster, final)
    except AssertionError:
        return None
    if not never_ok(cluster, final) or not order_exists(cluster, final):
        return None
    return result


def best_plan(cluster: Cluster) -> tuple[tuple[int, ...], dict[str, str | None]]:
    """The best objective (the checker's) over every placement of the pods that may change."""
    free = [
        p
        for p in cluster.pods
        if (p.node_name is None and checker.unbindable_reason(p) is None)
        or (p.node_name is not None and checker.immovable_reason(p) is None)
    ]
    names: Sequence[str | None] = [n.name for n in cluster.nodes]
    best: tuple[tuple[int, ...], dict[str, str | None]] | None = None
    base = checker.current_placement(cluster)
    for fates in itertools.product([*names, None], repeat=len(free)):
        final = dict(base)
        final.update({p.key: f for p, f in zip(free, fates, strict=True)})
        result = valid(cluster, final)
        if result is not None and (best is None or result.objective > best[0]):
            best = (result.objective, final)
    assert best is not None, "doing nothing is always a plan"
    return best
