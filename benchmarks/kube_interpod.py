"""InterPodAffinity and PodTopologySpread filters for the kube-scheduler stand-in, kept by count.

The stand-in (``benchmarks.kube_baseline``) schedules the benchmark's Pending pods one at a time;
when they carry required pod (anti-)affinity or DoNotSchedule spread constraints, every node it
tries must pass the same filters kube-scheduler runs. The rules are the independent checker's
(``testkit/interpod.py``: term and selector matching, the first-pod rule, node inclusion
policies, ``minDomains``), so that baseline and planner are judged alike; what is added here is
speed at 5,000 nodes and 150,000 pods: matching pods are counted per node once per term or
selector and kept up to date as pods are bound and preempted, and a pod's check computes its
domain counts once and then answers each node in constant time.

kube-scheduler's statuses decide where preemption may help (``nodesWherePreemptionMightHelp``):
an unmet required affinity or a node without a constraint's topology key is
UnschedulableAndUnresolvable (``interpodaffinity/filtering.go``, ``podtopologyspread/
filtering.go``), so no pod is preempted there; anti-affinity and skew are Unschedulable, so the
victims are looked for, and the filters re-run with them removed (``SelectVictimsOnNode``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from scheduler_ext.domain import Cluster, LabelItems, LabelSelector, Pod, PodAffinityTerm
from testkit.interpod import Rules, has_interpod_rules
from testkit.matching import node_affinity_matches, selector_matches, untolerated_taint

Group = tuple[str, LabelItems, bool]
"""What decides whether a term or selector counts a pod: namespace, labels, terminating."""
Key = tuple[object, ...]


def _proto(group: Group) -> Pod:
    namespace, labels, terminating = group
    return Pod(namespace=namespace, name="", labels=labels, terminating=terminating)


class InterPodFilter:
    """The bound pods' counts per node for every term and selector a pending pod asked about."""

    def __init__(self, cluster: Cluster) -> None:
        self.rules = Rules(cluster)
        self.labels = self.rules.labels
        self.groups: dict[Group, Counter[str]] = {}
        self.counters: dict[Key, Counter[str]] = {}
        self.matchers: dict[Key, Callable[[Group], bool]] = {}
        self.carriers: dict[tuple[str, PodAffinityTerm], Counter[str]] = {}
        self._eligible: dict[Key, frozenset[str]] = {}
        for pod in cluster.pods:
            if pod.node_name is not None and pod.node_name in self.labels:
                self.add(pod, pod.node_name)

    @staticmethod
    def needed(cluster: Cluster) -> bool:
        return any(has_interpod_rules(p) for p in cluster.pods)

    # --- keeping the counts -----------------------------------------------------------------

    def _update(self, pod: Pod, node: str, delta: int) -> None:
        group = (pod.namespace, pod.labels, pod.terminating)
        self.groups.setdefault(group, Counter())[node] += delta
        for key, counter in self.counters.items():
            if self.matchers[key](group):
                counter[node] += delta
        for term in pod.anti_affinity:
            self.carriers.setdefault((pod.namespace, term), Counter())[node] += delta

    def add(self, pod: Pod, node: str) -> None:
        self._update(pod, node, 1)

    def remove(self, pod: Pod, node: str) -> None:
        self._update(pod, node, -1)

    def _counter(self, key: Key, matches: Callable[[Group], bool]) -> Counter[str]:
        """Bound pods per node that ``matches`` counts, kept from now on."""
        found = self.counters.get(key)
        if found is None:
            found = Counter()
            for group, per_node in self.groups.items():
                if matches(group):
                    found.update(per_node)
            self.counters[key] = found
            self.matchers[key] = matches
        return found

    def term_counter(self, term: PodAffinityTerm, carrier: Pod) -> Counter[str]:
        return self._counter(
            ("term", carrier.namespace, term),
            lambda g: self.rules.incoming_term_matches(term, carrier, _proto(g)),
        )

    def affinity_counter(self, pod: Pod) -> Counter[str]:
        """Pods matching *all* of ``pod``'s affinity terms (``podMatchesAllAffinityTerms``)."""
        terms = pod.affinity
        return self._counter(
            ("affinity", pod.namespace, terms),
            lambda g: all(self.rules.incoming_term_matches(t, pod, _proto(g)) for t in terms),
        )

    def spread_counter(self, namespace: str, selector: LabelSelector) -> Counter[str]:
        return self._counter(
            ("spread", namespace, selector),
            lambda g: g[0] == namespace and not g[2] and selector_matches(selector, g[1]),
        )

    def eligible(self, pod: Pod, index: int) -> frozenset[str]:
        """Nodes that count for ``pod.spread[index]`` (``testkit.interpod.Rules._counts_node``)."""
        key = (pod.node_selector, pod.required_node_affinity, pod.tolerations, pod.spread, index)
        found = self._eligible.get(key)
        if found is None:
            constraint = pod.spread[index]
            names = []
            for name, node in self.rules.nodes.items():
                labels = self.labels[name]
                if any(c.topology_key not in labels for c in pod.spread):
                    continue
                if constraint.honor_node_affinity and not node_affinity_matches(pod, node):
                    continue
                if constraint.honor_node_taints and untolerated_taint(pod, node) is not None:
                    continue
                names.append(name)
            found = self._eligible[key] = frozenset(names)
        return found

    def check(self, pod: Pod) -> PodCheck | None:
        """The filters for one scheduling attempt of ``pod``; None when none concerns it."""
        existing = [
            (namespace, term, Counter(dict(_grouped(self, counter, term.topology_key))))
            for (namespace, term), counter in self.carriers.items()
            if counter.total() > 0
            and self.rules.existing_term_matches(term, _proto((namespace, (), False)), pod)
        ]
        if not (existing or has_interpod_rules(pod)):
            return None
        return PodCheck(self, pod, existing)


@dataclass
class _Spread:
    key: str
    selector: LabelSelector | None
    max_skew: int
    min_domains: int
    own: int
    eligible: frozenset[str]
    domains: dict[str, int]


class PodCheck:
    """One pod's InterPodAffinity and PodTopologySpread filters, domain counts computed once."""

    def __init__(
        self,
        index: InterPodFilter,
        pod: Pod,
        existing: list[tuple[str, PodAffinityTerm, Counter[str]]],
    ) -> None:
        self.pod = pod
        self.labels = index.labels
        self.rules = index.rules
        self.existing = existing
        self.own_anti = [
            (term, Counter(dict(_grouped(index, index.term_counter(term, pod), term.topology_key))))
            for term in pod.anti_affinity
        ]
        self.affinity_nodes = index.affinity_counter(pod) if pod.affinity else Counter()
        self.affinity = [
            Counter(dict(_grouped(index, self.affinity_nodes, t.topology_key)))
            for t in pod.affinity
        ]
        self.self_affine = all(self.rules.incoming_term_matches(t, pod, pod) for t in pod.affinity)
        self.spread = [self._spread(index, i) for i in range(len(pod.spread))]
        self._memo: dict[tuple[object, Group], bool] = {}

    def _gone(self, slot: object, matches: Callable[[Pod], bool], removed: Sequence[Pod]) -> int:
        """How many of ``removed`` ``matches`` counts, remembered per slot and label group."""
        total = 0
        for p in removed:
            key = (slot, (p.namespace, p.labels, p.terminating))
            hit = self._memo.get(key)
            if hit is None:
                hit = self._memo[key] = matches(p)
            total += hit
        return total

    def _spread(self, index: InterPodFilter, i: int) -> _Spread:
        constraint = self.pod.spread[i]
        eligible = index.eligible(self.pod, i)
        key = constraint.topology_key
        domains = {self.labels[name][key]: 0 for name in eligible}
        selector = constraint.selector
        own = 0
        if selector is not None:
            per_node = index.spread_counter(self.pod.namespace, selector)
            for node, count in per_node.items():
                if node in eligible:
                    domains[self.labels[node][key]] += count
            own = 1 if selector_matches(selector, self.pod.labels) else 0
        return _Spread(
            key, selector, constraint.max_skew, constraint.min_domains, own, eligible, domains
        )

    def unresolvable(self, node: str) -> bool:
        """UnschedulableAndUnresolvable: preempting on ``node`` cannot help."""
        labels = self.labels[node]
        if any(s.key not in labels for s in self.spread):
            return True
        return not self._affinity_holds(node, ())

    def concerns(self, other: Pod) -> bool:
        """Can ``other`` running or not change this pod's verdict on its node?"""
        pod = self.pod
        return bool(
            self._gone(
                "concerns",
                lambda p: (
                    any(self.rules.incoming_term_matches(t, pod, p) for t in pod.affinity)
                    or any(self.rules.incoming_term_matches(t, pod, p) for t in pod.anti_affinity)
                    or any(
                        p.namespace == namespace and term in p.anti_affinity
                        for namespace, term, _ in self.existing
                    )
                    or any(
                        s.selector is not None
                        and p.namespace == pod.namespace
                        and selector_matches(s.selector, p.labels)
                        for s in self.spread
                    )
                ),
                [other],
            )
        )

    def _affinity_holds(self, node: str, removed: Sequence[Pod]) -> bool:
        terms = self.pod.affinity
        if not terms:
            return True
        labels = self.labels[node]
        if any(t.topology_key not in labels for t in terms):
            return False
        gone = self._gone(
            "affinity",
            lambda p: all(self.rules.incoming_term_matches(t, self.pod, p) for t in terms),
            removed,
        )
        if all(
            c[labels[t.topology_key]] - gone > 0 for t, c in zip(terms, self.affinity, strict=True)
        ):
            return True
        return self.affinity_nodes.total() - gone <= 0 and self.self_affine

    def passes(self, node: str, removed: Sequence[Pod] = ()) -> bool:
        """Every filter with the pods of ``removed`` (on ``node``) gone."""
        labels = self.labels[node]
        if not self._affinity_holds(node, removed):
            return False
        for i, (term, per_value) in enumerate(self.own_anti):
            value = labels.get(term.topology_key)
            if value is None:
                continue
            gone = self._gone(
                ("anti", i),
                lambda p, t=term: self.rules.incoming_term_matches(t, self.pod, p),  # type: ignore[misc]
                removed,
            )
            if per_value[value] - gone > 0:
                return False
        for namespace, term, per_value in self.existing:
            value = labels.get(term.topology_key)
            if value is None:
                continue
            gone = sum(p.namespace == namespace and term in p.anti_affinity for p in removed)
            if per_value[value] - gone > 0:
                return False
        return all(self._skew_ok(i, s, node, removed) for i, s in enumerate(self.spread))

    def _skew_ok(self, index: int, spread: _Spread, node: str, removed: Sequence[Pod]) -> bool:
        value = self.labels[node].get(spread.key)
        if value is None:
            return False
        count = spread.domains.get(value, 0)
        selector = spread.selector
        if removed and node in spread.eligible and selector is not None:
            count -= self._gone(
                ("spread", index),
                lambda p: (
                    p.namespace == self.pod.namespace
                    and not p.terminating
                    and selector_matches(selector, p.labels)
                ),
                removed,
            )
        domains = spread.domains
        if value in domains and count != domains[value]:
            domains = {**domains, value: count}
        minimum = min(domains.values()) if len(domains) >= spread.min_domains else 0
        return count + spread.own - minimum <= spread.max_skew


def _grouped(index: InterPodFilter, per_node: Counter[str], key: str) -> Iterable[tuple[str, int]]:
    """``per_node`` summed per value of the node label ``key`` (nodes without it count nowhere)."""
    totals: Counter[str] = Counter()
    for node, count in per_node.items():
        value = index.labels[node].get(key)
        if count and value is not None:
            totals[value] += count
    return totals.items()
