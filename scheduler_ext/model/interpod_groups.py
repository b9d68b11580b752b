"""The inter-pod groups over the classes, once ``model/build.py`` has made the classes.

Each registered term or constraint (``model/interpod.py``) with at least one class carrying it
becomes a group: the classes that carry it, the classes it selects, and constant counts per
domain of the immovable pods (``model/problem.py`` documents each group's fields).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from scheduler_ext.model.interpod import InterPod, Signature, StaticDomains
from scheduler_ext.model.problem import (
    AffinityGroup,
    AntiAffinityGroup,
    DomainCounts,
    PodClass,
    SpreadGroup,
)


def _domain_counts(counts: Mapping[int, int]) -> DomainCounts:
    return tuple(sorted((d, k) for d, k in counts.items() if k > 0 and d >= 0))


class GroupBuilder:
    """Builds the problem's groups once the classes are known."""

    def __init__(
        self,
        inter: InterPod,
        static: StaticDomains,
        classes: Sequence[PodClass],
        signatures: Sequence[Signature],
    ) -> None:
        self.inter = inter
        self.static = static
        self.classes = classes
        self.signatures = signatures
        self.topologies = inter.topologies

    def _members(self, field: str, index: int) -> tuple[int, ...]:
        out = []
        for c, sig in enumerate(self.signatures):
            value = getattr(sig, field)
            if value == index or (isinstance(value, tuple) and index in value):
                out.append(c)
        return tuple(out)

    def anti(self) -> tuple[AntiAffinityGroup, ...]:
        static = self.static
        groups = []
        for term, index in self.inter.registry.anti.items():
            carriers = self._members("anti_carried", index)
            if not carriers:
                continue  # only immovable pods carry it: eligibility already keeps it
            fixed = static.fixed.get(index, {})
            groups.append(
                AntiAffinityGroup(
                    topology=self.topologies.index(term.topology_key),
                    carriers=carriers,
                    matchers=self._members("anti_matched", index),
                    fixed=tuple(sorted((d, *row) for d, row in fixed.items() if any(row))),  # type: ignore[misc]
                    closed=tuple(sorted(static.closed.get(index, ()))),
                )
            )
        return tuple(groups)

    def spread(self) -> tuple[SpreadGroup, ...]:
        groups = []
        for spread, index in self.inter.registry.spread.items():
            carriers = self._members("spread_carried", index)
            if not carriers or spread.counts_nothing:
                continue
            topology = self.topologies.of(spread.topology_key)
            counted = self.inter.node_sets()[spread.counted]
            counted_set = frozenset(counted)
            fixed: dict[int, int] = defaultdict(int)
            for pod in self.inter.fixed:
                node = self.inter.node_of(pod)
                if node in counted_set and spread.matches(pod):
                    fixed[topology.domain_of[node]] += 1
            groups.append(
                SpreadGroup(
                    topology=self.topologies.index(spread.topology_key),
                    max_skew=spread.max_skew,
                    min_domains=spread.min_domains,
                    counted=counted,
                    domains=tuple(sorted({topology.domain_of[n] for n in counted})),
                    carriers=carriers,
                    matchers=self._members("spread_matched", index),
                    fixed=_domain_counts(fixed),
                )
            )
        return tuple(groups)

    def affinity(self) -> tuple[AffinityGroup, ...]:
        groups = []
        for terms, index in self.inter.registry.affinity.items():
            carriers = self._members("affinity_carried", index)
            if not carriers:
                continue
            matchers = self._members("affinity_matched", index)
            topologies = [self.topologies.of(t.topology_key) for t in terms]
            witnesses: list[dict[int, int]] = [defaultdict(int) for _ in terms]
            fixed_anywhere = 0
            movable = (p for p in self.inter.plannable if p.bound)
            for witness, pods in ((True, self.inter.fixed), (False, movable)):
                for pod in pods:
                    if index not in self.inter.matched(pod)[1]:
                        continue
                    node = self.inter.node_of(pod)
                    domains = [t.domain_of[node] for t in topologies]
                    fixed_anywhere += witness and any(d >= 0 for d in domains)
                    # Terminating pods witness too: kube-scheduler's snapshot holds them until
                    # they are gone (``satisfyPodAffinity`` counts every pod on the node).
                    if witness:
                        for i, d in enumerate(domains):
                            if d >= 0:
                                witnesses[i][d] += 1
            groups.append(
                AffinityGroup(
                    topologies=tuple(self.topologies.index(t.topology_key) for t in terms),
                    carriers=carriers,
                    self_matching=tuple(c for c in carriers if c in matchers),
                    matchers=matchers,
                    witnesses=tuple(_domain_counts(w) for w in witnesses),
                    bootstrap=fixed_anywhere == 0,
                    fixed_anywhere=fixed_anywhere,
                )
            )
        return tuple(groups)
