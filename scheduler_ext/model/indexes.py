"""The lookups that keep the problem build linear in pods plus nodes, each cached by value.

A cluster has many pods and few distinct shapes of them: the static filters are evaluated once per
pair of (scheduling constraints, node shape), budgets are found through their selectors' first
label (the inter-pod terms, by topology domain, are ``model/interpod.py``'s). Sets of
nodes are long (up to every node) and shared by many pods, so they are interned: equal sets get one
number, and classes and caches key by that number instead of hashing the set again for each pod.
Everything is keyed by value; a cache once keyed by ``id()`` of a tuple that Python freed and
reused answered one pod with another pod's blocked nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from scheduler_ext.domain import DisruptionBudget, LabelItems, Node, Pod
from scheduler_ext.model import eligibility, movability

NodeSetId = int
"""The number of an interned set of node indices (``NodeSets``)."""


class NodeSets:
    """Sorted tuples of node indices, each stored once: equal sets get the same number."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, ...], NodeSetId] = {}
        self._sets: list[tuple[int, ...]] = []

    def add(self, nodes: tuple[int, ...]) -> NodeSetId:
        found = self._ids.get(nodes)
        if found is None:
            found = self._ids[nodes] = len(self._sets)
            self._sets.append(nodes)
        return found

    def __getitem__(self, number: NodeSetId) -> tuple[int, ...]:
        return self._sets[number]


def _constraint_signature(pod: Pod) -> tuple[object, ...]:
    return (pod.node_selector, pod.required_node_affinity, pod.tolerations)


def _node_signature(node: Node) -> tuple[object, ...]:
    return (node.labels, node.taints, node.unschedulable, node.ready)


def _uses_match_fields(pod: Pod) -> bool:
    return any(term.match_fields for term in pod.required_node_affinity)


class StaticFilters:
    """kube-scheduler's static filters, per (pod constraints, node shape)."""

    def __init__(self, nodes: Sequence[Node], node_sets: NodeSets) -> None:
        self._nodes = nodes
        self._node_sets = node_sets
        groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for index, node in enumerate(nodes):
            groups[_node_signature(node)].append(index)
        self._groups = list(groups.values())
        self._cache: dict[tuple[object, ...], tuple[NodeSetId, tuple[str, ...]]] = {}

    def nodes_for(self, pod: Pod) -> tuple[NodeSetId, tuple[str, ...]]:
        """The nodes passing the filters, and one rejection reason per other node."""
        if _uses_match_fields(pod):  # matchFields names nodes: no sharing across node groups
            return self._evaluate(pod, [[i] for i in range(len(self._nodes))])
        key = _constraint_signature(pod)
        if key not in self._cache:
            self._cache[key] = self._evaluate(pod, self._groups)
        return self._cache[key]

    def _evaluate(
        self, pod: Pod, groups: Sequence[Sequence[int]]
    ) -> tuple[NodeSetId, tuple[str, ...]]:
        accepted: list[int] = []
        reasons: list[str] = []
        for group in groups:
            reason = eligibility.static_reject_reason(pod, self._nodes[group[0]])
            if reason is None:
                accepted.extend(group)
            else:
                reasons.extend([reason] * len(group))
        return self._node_sets.add(tuple(sorted(accepted))), tuple(reasons)


class BudgetIndex:
    """Which disruption budgets cover a pod, without testing every budget against every pod."""

    def __init__(self, budgets: Sequence[DisruptionBudget]) -> None:
        self._budgets = budgets
        # A budget whose selector has matchLabels can only cover pods carrying its first pair.
        self._by_label: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        self._others: dict[str, list[int]] = defaultdict(list)
        for b, budget in enumerate(budgets):
            selector = budget.selector
            if selector is not None and selector.match_labels:
                key, value = selector.match_labels[0]
                self._by_label[(budget.namespace, key, value)].append(b)
            else:
                self._others[budget.namespace].append(b)
        self._cache: dict[tuple[str, LabelItems], tuple[int, ...]] = {}
        self._names: dict[tuple[int, ...], tuple[str, ...]] = {}

    def covering(self, pod: Pod) -> tuple[int, ...]:
        key = (pod.namespace, pod.labels)
        found = self._cache.get(key)
        if found is None:
            candidates = list(self._others.get(pod.namespace, ()))
            for label, value in pod.labels:
                candidates += self._by_label.get((pod.namespace, label, value), ())
            found = tuple(
                sorted(b for b in candidates if eligibility.budget_covers(self._budgets[b], pod))
            )
            self._cache[key] = found
        return found

    def names(self, pod: Pod) -> tuple[str, ...]:
        """``namespace/name`` of each budget covering ``pod`` (the eviction rules count them)."""
        covering = self.covering(pod)
        found = self._names.get(covering)
        if found is None:
            budgets = self._budgets
            found = tuple(f"{budgets[b].namespace}/{budgets[b].name}" for b in covering)
            self._names[covering] = found
        return found


def budget_limits(budgets: Sequence[DisruptionBudget]) -> tuple[int, ...]:
    """Per budget, how many of its pods a plan may disrupt (``movability.budget_allowance``)."""
    return tuple(movability.budget_allowance(budget) for budget in budgets)
