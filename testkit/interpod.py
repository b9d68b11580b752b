"""kube-scheduler's InterPodAffinity and PodTopologySpread filters, re-derived for the independent
checker, and the execution order that judges a plan by them.

A filter decides one pod against the pods running at the moment it is scheduled, so a plan is
judged as the executor would carry it out:

1. every eviction first, and the old copy of every moved pod (its replacement is a new pod);
2. then the arriving pods (bindings, and moves' replacements on their target node) one at a
   time, each checked against the pods that stay plus those that arrived before it.

A plan passes when some order of step 2 lets every arriving pod pass. Pods that neither carry
required affinity or spread constraints nor are counted by an arriving pod's affinity terms or
spread selectors go first (anti-affinity does not depend on the order: each pair is checked when
its second pod arrives, in both directions). The others are ordered by a depth-first search that
tries, at each step, pods other arriving pods' affinity needs (they must run before), then pods
bound for the topology domain with the fewest matching pods (they raise the global minimum
spread skew is measured against), and remembers the sets of pods from which no order exists.

The rules, from Kubernetes v1.36 (pkg/scheduler/framework/plugins/):

- ``interpodaffinity/filtering.go``, ``satisfyPodAffinity``: the target node carries every term's
  topology key, and each term's domain holds a running pod matching *all* the pod's terms; or,
  when no running pod anywhere matches them all and the pod matches them itself, any node with
  the keys (the first pod of a self-affine group).
- ``satisfyPodAntiAffinity``: no running pod matching a term in the term's domain of the target.
- ``satisfyExistingPodsAntiAffinity``: no running pod whose term matches the incoming pod in the
  target's domain of that term.
- Term namespaces (``AffinityTerm.Matches``, ``mergeAffinityTermNamespacesIfNotEmpty``): the
  listed ``namespaces``; the carrier's own namespace when neither they nor a selector are set;
  ``namespaceSelector: {}`` every namespace; any other selector, for the incoming pod's terms,
  the namespaces of the cluster whose labels it matches, and for running pods' terms, the labels
  of the incoming pod's namespace (none when the cluster does not list it). Listed namespaces
  carry ``kubernetes.io/metadata.name`` as the API server sets it.
- ``podtopologyspread/filtering.go``, ``Filter``: for each constraint, the target node carries
  the topology key, and ``count(target domain) + self - min <= maxSkew``; counts are pods of the
  carrier's namespace, not terminating, matching the selector, on nodes that carry every
  constraint's key and pass its node inclusion policies (``honor_node_affinity``: the pod's
  nodeSelector and required node affinity; ``honor_node_taints``: the node's spec taints it
  tolerates); ``min`` is the smallest count over those domains, 0 when there are fewer than
  ``min_domains``; ``self`` is 1 when the selector matches the pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scheduler_ext.domain import Cluster, LabelItems, Node, Pod, PodAffinityTerm
from testkit.matching import node_affinity_matches, selector_matches, untolerated_taint

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
SEARCH_LIMIT = 100_000
"""States the order search may visit before it gives up (an AssertionError, never a pass)."""

Placed = list[tuple[Pod, str]]
"""Running pods and their nodes, in arrival order."""


def has_interpod_rules(pod: Pod) -> bool:
    return bool(pod.affinity or pod.anti_affinity or pod.spread)


@dataclass
class Rules:
    """The cluster facts the rules read, looked up once."""

    cluster: Cluster
    nodes: dict[str, Node] = field(init=False)
    labels: dict[str, dict[str, str]] = field(init=False)
    namespaces: dict[str, LabelItems] = field(init=False)

    def __post_init__(self) -> None:
        self.nodes = {node.name: node for node in self.cluster.nodes}
        self.labels = {node.name: dict(node.labels) for node in self.cluster.nodes}
        self.namespaces = {}
        for ns in self.cluster.namespaces:
            labels = dict(ns.labels)
            labels.setdefault(NAMESPACE_NAME_LABEL, ns.name)
            self.namespaces[ns.name] = tuple(sorted(labels.items()))

    # --- which pods a term concerns ------------------------------------------------------------

    def _own_namespace(self, term: PodAffinityTerm, carrier: Pod, other: Pod) -> bool | None:
        """What needs no namespace labels: True/False, or None when the selector decides."""
        if not term.namespaces and term.namespace_selector is None:
            return other.namespace == carrier.namespace
        if other.namespace in term.namespaces:
            return True
        if term.namespace_selector is None:
            return False
        if (
            not term.namespace_selector.match_labels
            and not term.namespace_selector.match_expressions
        ):
            return True  # {} matches every namespace
        return None

    def incoming_term_matches(self, term: PodAffinityTerm, carrier: Pod, other: Pod) -> bool:
        """Does the incoming ``carrier``'s term select ``other`` (a running pod, or itself)?"""
        if not selector_matches(term.selector, other.labels):
            return False
        decided = self._own_namespace(term, carrier, other)
        if decided is not None:
            return decided
        assert term.namespace_selector is not None
        labels = self.namespaces.get(other.namespace)
        return labels is not None and selector_matches(term.namespace_selector, labels)

    def existing_term_matches(self, term: PodAffinityTerm, carrier: Pod, incoming: Pod) -> bool:
        """Does the running ``carrier``'s term select the ``incoming`` pod?"""
        if not selector_matches(term.selector, incoming.labels):
            return False
        decided = self._own_namespace(term, carrier, incoming)
        if decided is not None:
            return decided
        assert term.namespace_selector is not None
        return selector_matches(
            term.namespace_selector, self.namespaces.get(incoming.namespace, ())
        )

    # --- one incoming pod ---------------------------------------------------------------------

    def affinity_violation(self, pod: Pod, target: str, placed: Placed) -> str | None:
        """``satisfyPodAffinity``, with the first-pod rule."""
        terms = pod.affinity
        if not terms:
            return None
        labels = self.labels[target]
        for t in terms:
            if t.topology_key not in labels:
                return f"pod affinity of {pod.key}: {target} has no {t.topology_key} label"
        counts: dict[tuple[str, str], int] = {}
        for other, node in placed:
            if all(self.incoming_term_matches(t, pod, other) for t in terms):
                for t in terms:
                    value = self.labels.get(node, {}).get(t.topology_key)
                    if value is not None:
                        counts[(t.topology_key, value)] = counts.get((t.topology_key, value), 0) + 1
        missing = [t for t in terms if counts.get((t.topology_key, labels[t.topology_key]), 0) <= 0]
        if not missing:
            return None
        if not counts and all(self.incoming_term_matches(t, pod, pod) for t in terms):
            return None  # the first pod of a group that matches its own terms
        t = missing[0]
        return (
            f"pod affinity of {pod.key}: no matching pod in {t.topology_key}="
            f"{labels[t.topology_key]} when it lands on {target}"
        )

    def anti_affinity_violation(self, pod: Pod, target: str, placed: Placed) -> str | None:
        """``satisfyPodAntiAffinity`` and ``satisfyExistingPodsAntiAffinity``."""
        return self.own_anti_affinity_violation(
            pod, target, placed
        ) or self.existing_anti_affinity_violation(pod, target, placed)

    def own_anti_affinity_violation(self, pod: Pod, target: str, placed: Placed) -> str | None:
        """``satisfyPodAntiAffinity``: the incoming pod's own terms."""
        labels = self.labels[target]
        for term in pod.anti_affinity:
            value = labels.get(term.topology_key)
            if value is None:
                continue
            for other, node in placed:
                if self.labels.get(node, {}).get(term.topology_key) == value and (
                    self.incoming_term_matches(term, pod, other)
                ):
                    return (
                        f"anti-affinity of {pod.key} ({term.topology_key}={value}) "
                        f"excludes {other.key}"
                    )
        return None

    def existing_anti_affinity_violation(self, pod: Pod, target: str, placed: Placed) -> str | None:
        """``satisfyExistingPodsAntiAffinity``: running pods' terms against the incoming pod."""
        labels = self.labels[target]
        for other, node in placed:
            for term in other.anti_affinity:
                value = self.labels.get(node, {}).get(term.topology_key)
                if (
                    value is not None
                    and labels.get(term.topology_key) == value
                    and (self.existing_term_matches(term, other, pod))
                ):
                    return (
                        f"anti-affinity of {other.key} ({term.topology_key}={value}) "
                        f"excludes {pod.key}"
                    )
        return None

    def spread_counts(self, pod: Pod, index: int, placed: Placed) -> dict[str, int]:
        """Matching pods per domain of ``pod.spread[index]``, over the nodes that count."""
        constraint = pod.spread[index]
        eligible = {n.name for n in self.cluster.nodes if self._counts_node(pod, index, n.name)}
        counts = {self.labels[name][constraint.topology_key]: 0 for name in eligible}
        selector = constraint.selector
        if selector is None:
            return counts
        for other, where in placed:
            if (
                where in eligible
                and not other.terminating
                and other.namespace == pod.namespace
                and selector_matches(selector, other.labels)
            ):
                counts[self.labels[where][constraint.topology_key]] += 1
        return counts

    def _counts_node(self, pod: Pod, index: int, node_name: str) -> bool:
        """Does ``node_name`` count for ``pod.spread[index]``: it carries every constraint's
        key (``nodeLabelsMatchSpreadConstraints``) and passes the constraint's inclusion
        policies (``matchNodeInclusionPolicies``)?"""
        constraint = pod.spread[index]
        node = self.nodes.get(node_name)
        if node is None:
            return False  # bound to a node the cluster does not list: it counts nowhere
        labels = self.labels[node_name]
        if any(c.topology_key not in labels for c in pod.spread):
            return False
        if constraint.honor_node_affinity and not node_affinity_matches(pod, node):
            return False
        return not (constraint.honor_node_taints and untolerated_taint(pod, node) is not None)

    def spread_violation(self, pod: Pod, target: str, placed: Placed) -> str | None:
        labels = self.labels[target]
        for index, constraint in enumerate(pod.spread):
            value = labels.get(constraint.topology_key)
            if value is None:
                return (
                    f"topology spread of {pod.key}: {target} has no {constraint.topology_key} label"
                )
            counts = self.spread_counts(pod, index, placed)
            minimum = min(counts.values()) if len(counts) >= constraint.min_domains else 0
            selector = constraint.selector
            own = 1 if selector is not None and selector_matches(selector, pod.labels) else 0
            skew = counts.get(value, 0) + own - minimum
            if skew > constraint.max_skew:
                return (
                    f"topology spread of {pod.key}: {constraint.topology_key}={value} on {target} "
                    f"makes skew {skew} > maxSkew {constraint.max_skew}"
                )
        return None

    def violation(self, pod: Pod, target: str, placed: Placed) -> str | None:
        """Why ``pod`` may not land on ``target`` with ``placed`` running, or None."""
        return (
            self.affinity_violation(pod, target, placed)
            or self.anti_affinity_violation(pod, target, placed)
            or self.spread_violation(pod, target, placed)
        )

    # --- who depends on whom --------------------------------------------------------------------

    def influences(self, pod: Pod, carrier: Pod) -> bool:
        """Can ``pod`` running change how ``carrier``'s affinity or spread is decided?"""
        if carrier.affinity and all(
            self.incoming_term_matches(t, carrier, pod) for t in carrier.affinity
        ):
            return True
        return (
            not pod.terminating
            and pod.namespace == carrier.namespace
            and any(
                c.selector is not None and selector_matches(c.selector, pod.labels)
                for c in carrier.spread
            )
        )


class _Order:
    """The depth-first search for an order of the arriving pods that depend on one another."""

    def __init__(self, rules: Rules, placed: Placed, pods: Sequence[tuple[Pod, str]]) -> None:
        self.rules = rules
        self.placed = placed
        self.pods = pods
        self.failed: set[frozenset[int]] = set()
        self.visited = 0
        self.stuck: tuple[int, list[str]] = (-1, [])

    def _key(self, index: int, remaining: frozenset[int]) -> tuple[int, int]:
        pod, target = self.pods[index]
        needed = any(
            self.pods[j][0].affinity and self.rules.influences(pod, self.pods[j][0])
            for j in remaining
            if j != index
        )
        count = 0
        for k in range(len(pod.spread)):
            value = self.rules.labels[target].get(pod.spread[k].topology_key)
            count += self.rules.spread_counts(pod, k, self.placed).get(value or "", 0)
        return (0 if needed else 1, count)

    def search(self, remaining: frozenset[int]) -> bool:
        if not remaining:
            return True
        if remaining in self.failed:
            return False
        self.visited += 1
        assert self.visited <= SEARCH_LIMIT, (
            f"no execution order found within {SEARCH_LIMIT} search states"
        )
        reasons = []
        for index in sorted(remaining, key=lambda i: self._key(i, remaining)):
            pod, target = self.pods[index]
            reason = self.rules.violation(pod, target, self.placed)
            if reason is not None:
                reasons.append(reason)
                continue
            self.placed.append((pod, target))
            if self.search(remaining - {index}):
                return True
            self.placed.pop()
        depth = len(self.pods) - len(remaining)
        if reasons and depth > self.stuck[0]:
            self.stuck = (depth, reasons)
        self.failed.add(remaining)
        return False


def plan_violation(
    cluster: Cluster, final: Mapping[str, str | None], arrived: Iterable[str]
) -> str | None:
    """Why no execution order of the plan (see the module docstring) passes the inter-pod
    filters, or None when one does."""
    arrived_keys = set(arrived)
    if not arrived_keys:
        return None
    rules = Rules(cluster)
    placed: Placed = []
    arriving: list[tuple[Pod, str]] = []
    for pod in cluster.pods:
        target = final.get(pod.key)
        if target is None:
            continue
        (arriving if pod.key in arrived_keys else placed).append((pod, target))
    carriers = [pod for pod, _ in arriving if pod.affinity or pod.spread]
    ordered: list[tuple[Pod, str]] = []
    free: list[tuple[Pod, str]] = []
    for pod, target in arriving:
        depends = (
            pod.affinity
            or pod.spread
            or any(rules.influences(pod, c) for c in carriers if c.key != pod.key)
        )
        (ordered if depends else free).append((pod, target))
    for pod, target in free:
        reason = rules.violation(pod, target, placed)
        if reason is not None:
            return reason
        placed.append((pod, target))
    if not ordered:
        return None
    search = _Order(rules, placed, ordered)
    if search.search(frozenset(range(len(ordered)))):
        return None
    _, reasons = search.stuck
    return "no order of the arriving pods passes: " + "; ".join(reasons[:3])


def stated_order_violation(
    cluster: Cluster, final: Mapping[str, str | None], arrived: Sequence[str], order: Sequence[str]
) -> str | None:
    """Why the plan's own ``landingOrder`` (``order``) does not pass the inter-pod filters, or
    None when it does: after every eviction, the arriving pods it does not list (they may land
    at any time) in ``arrived``'s order, then those it lists, in its order, each checked against
    the pods there when it lands. The executor follows this order, not one the checker finds."""
    rules = Rules(cluster)
    listed = set(order)
    assert listed <= set(arrived), f"landingOrder names pods the plan does not place: {order}"
    assert len(listed) == len(order), f"landingOrder names a pod twice: {order}"
    pods = {pod.key: pod for pod in cluster.pods}
    moving = set(arrived)
    placed: Placed = []
    for pod in cluster.pods:
        target = final.get(pod.key)
        if target is not None and pod.key not in moving:
            placed.append((pod, target))
    for key in [*(k for k in arrived if k not in listed), *order]:
        target = final[key]
        assert target is not None
        reason = rules.violation(pods[key], target, placed)
        if reason is not None:
            return f"the plan's landingOrder fails at {key} on {target}: {reason}"
        placed.append((pods[key], target))
    return None
