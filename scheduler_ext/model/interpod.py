"""Inter-pod constraints found in the cluster and turned into groups of classes by topology domain.

kube-scheduler decides required pod affinity and anti-affinity (InterPodAffinity) and DoNotSchedule
topology spread (PodTopologySpread) by counting pods per *topology pair* (a node label key and
value), never by pod pair, so the model does the same: each distinct term or constraint becomes a
group of the classes that carry it and the classes it selects, with the immovable pods as constant
counts per domain. Pods of a class carry and match the same groups (that is part of the class
key), so a ReplicaSet with one replica per zone stays one class.

What is decided here, from the sources (kubernetes v1.36):

- A term selects a pod when its namespace is one of the term's (the carrier's own when the term
  names none and has no namespaceSelector) or matches the namespaceSelector, and the label
  selector matches its labels (``fwk.AffinityTerm.Matches``; the incoming pod's selector is
  merged into its namespaces, ``mergeAffinityTermNamespacesIfNotEmpty``: the same set).
- Anti-affinity is kept both ways: a running carrier keeps matching pods out of its domain, a
  landing carrier needs no matching pod in its domain (``interpodaffinity/filtering.go``:
  satisfyExistingPodsAntiAffinity, satisfyPodAntiAffinity). Terminating pods count.
- Affinity: a node needs every term's topology key, and for every term a pod matching *all* the
  terms in that domain (``satisfyPodAffinity``, ``podMatchesAllAffinityTerms``).
- Spread: only DoNotSchedule constraints; a node missing any of the pod's topology keys is
  rejected; pods count only on nodes with every key that pass the inclusion policies
  (``podtopologyspread/filtering.go``: calPreFilterState, ``common.go``:
  matchNodeInclusionPolicies, nodeLabelsMatchSpreadConstraints), only in the carrier's namespace
  and never while terminating (``countPodsMatchSelector``), and an empty selector counts nothing.

Where a rule is kept statically (a node closed to a class), it is applied here, to eligibility;
the rest becomes groups for the solvers (``model/interpod_groups.py``, the shapes in
``model/problem.py``) and their rules (``model/interpod_rules.py``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from scheduler_ext.domain import (
    LabelItems,
    LabelSelector,
    Node,
    Pod,
    PodAffinityTerm,
    SpreadConstraint,
)
from scheduler_ext.model import eligibility
from scheduler_ext.model.indexes import NodeSetId, NodeSets
from scheduler_ext.model.problem import (
    AffinityGroup,
    AntiAffinityGroup,
    PodClass,
    SpreadGroup,
    Topology,
)

_T = TypeVar("_T")
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

REASON_ANTI = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_SPREAD_LABEL = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)
_REASONS = (REASON_AFFINITY, REASON_SPREAD_LABEL, REASON_ANTI, REASON_EXISTING_ANTI)


@dataclass(frozen=True)
class Term:
    """A pod (anti-)affinity term with its namespaces resolved for its carrier."""

    selector: LabelSelector
    topology_key: str
    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None

    def matches(self, pod: Pod, namespace_labels: Callable[[str], LabelItems]) -> bool:
        in_scope = pod.namespace in self.namespaces or (
            self.namespace_selector is not None
            and eligibility.selector_matches(
                self.namespace_selector, namespace_labels(pod.namespace)
            )
        )
        return in_scope and eligibility.selector_matches(self.selector, pod.labels)


def resolve_term(carrier: Pod, term: PodAffinityTerm) -> Term:
    """``GetNamespacesFromPodAffinityTerm``: no namespaces and no selector mean the carrier's."""
    namespaces = frozenset(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = frozenset({carrier.namespace})
    return Term(term.selector, term.topology_key, namespaces, term.namespace_selector)


@dataclass(frozen=True)
class Spread:
    """A spread constraint of one carrier: what it counts, where, and on which nodes."""

    selector: LabelSelector | None
    namespace: str
    topology_key: str
    max_skew: int
    min_domains: int
    counted: NodeSetId

    @property
    def counts_nothing(self) -> bool:
        """None selects nothing; an empty selector is ``labels.Everything()``, which
        ``countPodsMatchSelector`` counts as 0: either way the skew never exceeds maxSkew."""
        selector = self.selector
        return selector is None or not (selector.match_labels or selector.match_expressions)

    def matches(self, pod: Pod) -> bool:
        return (
            self.selector is not None
            and not self.counts_nothing
            and pod.namespace == self.namespace
            and not pod.terminating
            and eligibility.selector_matches(self.selector, pod.labels)
        )


Affinity = tuple[Term, ...]
"""All required affinity terms of one carrier: a pod must match every one to count."""


@dataclass(frozen=True)
class Signature:
    """What a pod carries and what selects it: part of its class key."""

    anti_carried: tuple[int, ...] = ()
    anti_matched: tuple[int, ...] = ()
    affinity_carried: int | None = None
    affinity_matched: tuple[int, ...] = ()
    spread_carried: tuple[int, ...] = ()
    spread_matched: tuple[int, ...] = ()
    preempts: bool = True

    def __hash__(self) -> int:
        # A class key and a cache key: hashed once per pod, so the seven tuples are hashed once.
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = hash(_fields(self))
            object.__setattr__(self, "_hash", found)
        return found


def _fields(sig: Signature) -> tuple[object, ...]:
    return (
        sig.anti_carried,
        sig.anti_matched,
        sig.affinity_carried,
        sig.affinity_matched,
        sig.spread_carried,
        sig.spread_matched,
        sig.preempts,
    )


_PLAIN = {True: Signature(preempts=True), False: Signature(preempts=False)}
"""The signatures of pods in a cluster without inter-pod terms: one object each, hashed once."""


def _number(table: dict[_T, int], item: _T) -> int:
    """The item's number in ``table``, a new one if it is not there yet."""
    found = table.get(item)
    if found is None:
        found = table[item] = len(table)
    return found


class Registry:
    """Distinct anti-affinity terms, affinity term lists and spread constraints, numbered."""

    def __init__(self) -> None:
        self.anti: dict[Term, int] = {}
        self.affinity: dict[Affinity, int] = {}
        self.spread: dict[Spread, int] = {}


class Topologies:
    """Each used topology key's domains: node label values, numbered in first-seen order."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self._labels = [dict(node.labels) for node in nodes]
        self._by_key: dict[str, Topology] = {}
        self._index: dict[str, int] = {}

    def of(self, key: str) -> Topology:
        found = self._by_key.get(key)
        if found is None:
            values: dict[str, int] = {}
            domain_of = tuple(
                -1 if key not in labels else values.setdefault(labels[key], len(values))
                for labels in self._labels
            )
            found = self._by_key[key] = Topology(key, domain_of, tuple(values))
            self._index[key] = len(self._index)
        return found

    def index(self, key: str) -> int:
        self.of(key)
        return self._index[key]

    def all(self) -> tuple[Topology, ...]:
        return tuple(sorted(self._by_key.values(), key=lambda t: self._index[t.key]))


def _breaks(carriers: int, matchers: int, both: int) -> bool:
    """Whether a domain holding these pods has a carrier and a *different* pod the term selects."""
    if carriers == 0 or matchers == 0:
        return False
    return matchers > both or both > 1 or carriers > both


class InterPod:
    """The inter-pod constraints of one cluster, found once, for the steps of the build."""

    def __init__(
        self,
        nodes: Sequence[Node],
        fixed: Sequence[Pod],
        plannable: Sequence[Pod],
        node_sets: NodeSets,
        namespaces: Mapping[str, LabelItems],
    ) -> None:
        self._nodes = nodes
        self._fixed = fixed
        self._plannable = plannable
        self._node_sets = node_sets
        self._namespaces = namespaces
        self._ns_cache: dict[str, LabelItems] = {}
        self.registry = Registry()
        self.topologies = Topologies(nodes)
        self._counted_cache: dict[tuple[object, ...], tuple[int, ...]] = {}
        self._spread_cache: dict[tuple[object, ...], Spread] = {}
        self.inexact: set[str] = set()
        """Where a static rule is stricter than kube-scheduler could be (``Problem.inexact``)."""
        self._own: dict[str, tuple[tuple[int, ...], int | None, tuple[int, ...]]] = {}
        self._node_index = {node.name: i for i, node in enumerate(nodes)}
        for pod in fixed:
            if pod.anti_affinity:  # an immovable pod's own affinity and spread never matter
                self._register(pod, plannable=False)
        for pod in plannable:
            if pod.anti_affinity or pod.affinity or pod.spread:
                self._register(pod, plannable=True)
        self._match_cache: dict[tuple[str, LabelItems, bool], tuple[tuple[int, ...], ...]] = {}
        self._signatures: dict[int, tuple[Pod, Signature]] = {}
        self._interned: dict[Signature, Signature] = {}
        self.active = bool(self.registry.anti or self.registry.affinity or self.registry.spread)
        self._prune_cache: dict[tuple[object, ...], tuple[NodeSetId, tuple[str, ...]]] = {}
        self.static = StaticDomains(self) if self.active else None

    # --- registration ---------------------------------------------------------------------

    def namespace_labels(self, name: str) -> LabelItems:
        found = self._ns_cache.get(name)
        if found is None:
            labels = dict(self._namespaces.get(name, ()))
            labels.setdefault(eligibility.NAMESPACE_NAME_LABEL, name)
            found = self._ns_cache[name] = tuple(sorted(labels.items()))
        return found

    def _register(self, pod: Pod, *, plannable: bool) -> None:
        anti = tuple(_number(self.registry.anti, resolve_term(pod, t)) for t in pod.anti_affinity)
        affinity: int | None = None
        spread: tuple[int, ...] = ()
        if plannable and pod.affinity:
            terms = tuple(resolve_term(pod, t) for t in pod.affinity)
            affinity = _number(self.registry.affinity, terms)
        if plannable and pod.spread:
            spread = tuple(_number(self.registry.spread, self._spread(pod, c)) for c in pod.spread)
        self._own[pod.key] = (tuple(sorted(set(anti))), affinity, tuple(sorted(set(spread))))

    def _spread(self, pod: Pod, constraint: SpreadConstraint) -> Spread:
        key = (pod.namespace, pod.spread, constraint, pod.node_selector, pod.required_node_affinity)
        found = self._spread_cache.get((*key, pod.tolerations))
        if found is None:
            found = self._spread_cache[(*key, pod.tolerations)] = self._new_spread(pod, constraint)
        return found

    def _new_spread(self, pod: Pod, constraint: SpreadConstraint) -> Spread:
        keys = tuple(sorted({c.topology_key for c in pod.spread}))
        signature = (
            keys,
            constraint.honor_node_affinity and (pod.node_selector, pod.required_node_affinity),
            constraint.honor_node_taints and pod.tolerations,
        )
        counted = self._counted_cache.get(signature)
        if counted is None:
            counted = self._counted_cache[signature] = tuple(
                i for i, node in enumerate(self._nodes) if _counts(pod, constraint, keys, node)
            )
        return Spread(
            selector=constraint.selector,
            namespace=pod.namespace,
            topology_key=constraint.topology_key,
            max_skew=constraint.max_skew,
            min_domains=max(1, constraint.min_domains),
            counted=self._node_sets.add(counted),
        )

    # --- per pod --------------------------------------------------------------------------

    def matched(self, pod: Pod) -> tuple[tuple[int, ...], ...]:
        """(anti terms, affinity groups, spread constraints) that select ``pod``."""
        key = (pod.namespace, pod.labels, pod.terminating)
        found = self._match_cache.get(key)
        if found is None:
            labels_of = self.namespace_labels
            found = (
                tuple(i for t, i in self.registry.anti.items() if t.matches(pod, labels_of)),
                tuple(
                    i
                    for terms, i in self.registry.affinity.items()
                    if all(t.matches(pod, labels_of) for t in terms)
                ),
                tuple(i for s, i in self.registry.spread.items() if s.matches(pod)),
            )
            self._match_cache[key] = found
        return found

    def signature(self, pod: Pod) -> Signature:
        if not self.active:
            return _PLAIN[pod.preempts]
        # Asked for every pod by several steps: kept per pod object (the pod is kept with it, so
        # its id cannot be reused), and equal signatures are one object (cheap dict keys).
        found = self._signatures.get(id(pod))
        if found is not None and found[0] is pod:
            return found[1]
        anti, affinity, spread = self._own.get(pod.key, ((), None, ()))
        anti_m, affinity_m, spread_m = self.matched(pod)
        sig = Signature(anti, anti_m, affinity, affinity_m, spread, spread_m, pod.preempts)
        sig = self._interned.setdefault(sig, sig)
        self._signatures[id(pod)] = (pod, sig)
        return sig

    def prune(self, pod: Pod, candidates: NodeSetId) -> tuple[NodeSetId, tuple[str, ...]]:
        """The candidates the static part of the rules leaves ``pod``, and a reason per other."""
        if self.static is None:
            return candidates, ()
        sig = self.signature(pod)
        key = (sig, candidates)
        found = self._prune_cache.get(key)
        if found is None:
            found = self._prune_cache[key] = self.static.prune(sig, self._node_sets[candidates])
        return found

    # --- groups ---------------------------------------------------------------------------

    def groups(
        self, classes: Sequence[PodClass], signatures: Sequence[Signature]
    ) -> tuple[
        tuple[Topology, ...],
        tuple[AntiAffinityGroup, ...],
        tuple[SpreadGroup, ...],
        tuple[AffinityGroup, ...],
    ]:
        """The groups over ``classes`` (``signatures[c]`` is class c's)."""
        if self.static is None:
            return (), (), (), ()
        # Imported here: the builder reads this module's types, so a top import would be a cycle.
        from scheduler_ext.model.interpod_groups import GroupBuilder

        builder = GroupBuilder(self, self.static, classes, signatures)
        anti, spread, affinity = builder.anti(), builder.spread(), builder.affinity()
        return self.topologies.all(), anti, spread, affinity  # after the groups added their keys

    @property
    def fixed(self) -> Sequence[Pod]:
        return self._fixed

    @property
    def plannable(self) -> Sequence[Pod]:
        return self._plannable

    def node_sets(self) -> NodeSets:
        return self._node_sets

    def node_of(self, pod: Pod) -> int:
        return self._node_index[pod.node_name or ""]


def _counts(pod: Pod, constraint: SpreadConstraint, keys: Iterable[str], node: Node) -> bool:
    """Does ``node`` count for ``pod``'s constraint (every key present, inclusion policies)?"""
    labels = dict(node.labels)
    if any(key not in labels for key in keys):
        return False
    if constraint.honor_node_affinity and not eligibility.node_affinity_matches(pod, node):
        return False
    return not (constraint.honor_node_taints and eligibility.untolerated_taint(pod, node))


class StaticDomains:
    """Per term and domain, what the immovable pods already decide (which domains are closed to
    which carriers and matchers), and which domains all running pods already break."""

    def __init__(self, inter: InterPod) -> None:
        self.inter = inter
        reg = inter.registry
        self.anti_topology = {i: inter.topologies.of(t.topology_key) for t, i in reg.anti.items()}
        # (term, domain) -> [carriers, matchers, both] among fixed pods, and among all running.
        self.fixed: dict[int, dict[int, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0, 0])
        )
        running: dict[int, dict[int, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0, 0])
        )
        movable = [p for p in inter.plannable if p.bound]
        for pods, tables in ((inter.fixed, (self.fixed, running)), (movable, (running,))):
            # Pods alike on one node count alike: each (signature, node) once, times its pods.
            alike = Counter((inter.signature(pod), inter.node_of(pod)) for pod in pods)
            for (sig, node), k in alike.items():
                carried, matched = sig.anti_carried, sig.anti_matched
                for term in set(carried) | set(matched):
                    d = self.anti_topology[term].domain_of[node]
                    if d < 0:
                        continue
                    for table in tables:
                        row = table[term][d]
                        row[0] += k * (term in carried)
                        row[1] += k * (term in matched)
                        row[2] += k * (term in carried and term in matched)
        self.closed = {
            term: frozenset(d for d, row in by_domain.items() if _breaks(*row))
            for term, by_domain in running.items()
        }
        self.affinity_keys = {
            i: tuple(t.topology_key for t in ts) for ts, i in reg.affinity.items()
        }
        self.spread_keys = {i: s.topology_key for s, i in reg.spread.items()}
        self._arrays: dict[str, npt.NDArray[np.intp]] = {}
        self._per_term: dict[int, tuple[BoolArray, IntArray, IntArray]] = {}

    def _domains(self, key: str) -> npt.NDArray[np.intp]:
        found = self._arrays.get(key)
        if found is None:
            found = self._arrays[key] = np.array(self.inter.topologies.of(key).domain_of)
        return found

    def _term_arrays(self, term: int) -> tuple[BoolArray, IntArray, IntArray]:
        """Per domain (and a last slot for nodes without the key): closed (broken before the
        plan; kept by the solvers, not here), fixed carriers, fixed matchers."""
        found = self._per_term.get(term)
        if found is None:
            size = len(self.anti_topology[term].values) + 1
            closed = np.zeros(size, dtype=bool)
            closed[list(self.closed.get(term, ()))] = True
            carriers = np.zeros(size, dtype=np.int64)
            matchers = np.zeros(size, dtype=np.int64)
            for d, row in self.fixed.get(term, {}).items():
                carriers[d], matchers[d] = row[0], row[1]
            found = self._per_term[term] = (closed, carriers, matchers)
        return found

    def prune(
        self, sig: Signature, candidates: tuple[int, ...]
    ) -> tuple[NodeSetId, tuple[str, ...]]:
        """Vectorised over the candidates: the first rule that rejects each node, if any."""
        nodes = np.array(candidates, dtype=np.intp)
        reason = np.full(len(nodes), -1, dtype=np.intp)

        def mark(mask: BoolArray, code: int) -> None:
            reason[(reason < 0) & mask] = code

        if sig.affinity_carried is not None:
            for key in self.affinity_keys[sig.affinity_carried]:
                mark(self._domains(key)[nodes] < 0, 0)
        for s in sig.spread_carried:
            mark(self._domains(self.spread_keys[s])[nodes] < 0, 1)
        for term in sorted(set(sig.anti_carried) | set(sig.anti_matched)):
            domains = self._domains(self.anti_topology[term].key)[nodes]
            _closed, carriers, matchers = self._term_arrays(term)
            if term in sig.anti_carried:
                mark(matchers[domains] > 0, 2)  # a running pod it selects is there
            if term in sig.anti_matched:
                mark(carriers[domains] > 0, 3)
        if not (reason >= 0).any():
            return self.inter.node_sets().add(candidates), ()
        kept = tuple(int(n) for n in nodes[reason < 0])
        return self.inter.node_sets().add(kept), tuple(_REASONS[int(r)] for r in reason if r >= 0)
