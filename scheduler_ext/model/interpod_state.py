"""Inter-pod counts per topology domain, kept up to date one pod at a time.

Two users change a placement one pod at a time and ask whether the next pod may come: the greedy
solver (which keeps the model's final-state rules of ``model/interpod_rules.py`` true after every
step, so that its result is a plan) and the landing-order simulation (which replays a plan's
landings and asks what kube-scheduler's filters would answer at each one). Both need the same
bookkeeping, per group and domain: carriers and matching pods (anti-affinity), matching pods on
counted nodes and carriers that landed (spread), witnesses, present matching pods and landed
carriers (affinity), and the pods left without a home by priority (preemption policy). Arrays
have one slot more than a topology has domains: index -1, nodes without the label, stays 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scheduler_ext.model.problem import PodClass, Problem

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass
class ClassLinks:
    """The groups one class takes part in, by role."""

    anti_carried: list[int] = field(default_factory=list)
    anti_matched: list[int] = field(default_factory=list)
    spread_carried: list[int] = field(default_factory=list)
    spread_matched: list[int] = field(default_factory=list)
    affinity_carried: list[int] = field(default_factory=list)
    affinity_matched: list[int] = field(default_factory=list)

    @property
    def involved(self) -> bool:
        return bool(
            self.anti_carried
            or self.anti_matched
            or self.spread_carried
            or self.spread_matched
            or self.affinity_carried
            or self.affinity_matched
        )


def class_links(problem: Problem) -> list[ClassLinks]:
    links = [ClassLinks() for _ in problem.classes]
    for g, anti in enumerate(problem.anti_affinity):
        for c in anti.carriers:
            links[c].anti_carried.append(g)
        for c in anti.matchers:
            links[c].anti_matched.append(g)
    for g, spread in enumerate(problem.spread):
        for c in spread.carriers:
            links[c].spread_carried.append(g)
        for c in spread.matchers:
            links[c].spread_matched.append(g)
    for g, affinity in enumerate(problem.affinity):
        for c in affinity.carriers:
            links[c].affinity_carried.append(g)
        for c in affinity.matchers:
            links[c].affinity_matched.append(g)
    return links


@dataclass(frozen=True)
class AffinityOrder:
    """Which landing pods may witness for which affinity group, and in what order groups land.

    A landing pod can witness for a carrier only if it lands first: pods without affinity terms
    always can (they land before every carrier), and carriers of another group can if that group
    lands earlier. Groups are ranked so that a group whose carriers match another's comes first
    (a topological order; a cycle is cut where it closes, those pods then witness for nobody)."""

    ranks: tuple[int, ...]
    witnesses: tuple[frozenset[int], ...]
    """Per group, the classes whose *landing* pods count as its witnesses."""


def affinity_order(problem: Problem, links: Sequence[ClassLinks]) -> AffinityOrder:
    carried = {c: link.affinity_carried[0] for c, link in enumerate(links) if link.affinity_carried}
    before: list[set[int]] = [set() for _ in problem.affinity]  # groups whose carriers witness g
    for g, group in enumerate(problem.affinity):
        before[g] = {carried[c] for c in group.matchers if c in carried and carried[c] != g}
    ranks = [-1] * len(problem.affinity)
    for rank in range(len(problem.affinity)):
        ready = [
            g for g in range(len(ranks)) if ranks[g] < 0 and all(ranks[b] >= 0 for b in before[g])
        ]
        if not ready:  # a cycle: cut it at the lowest-numbered group left
            ready = [min(g for g in range(len(ranks)) if ranks[g] < 0)]
        ranks[ready[0]] = rank
    witnesses = tuple(
        frozenset(
            c
            for c in group.matchers
            if c not in carried or (carried[c] != g and ranks[carried[c]] < ranks[g])
        )
        for g, group in enumerate(problem.affinity)
    )
    return AffinityOrder(tuple(ranks), witnesses)


def inexact_groups(problem: Problem) -> tuple[frozenset[int], frozenset[int]]:
    """(spread groups, affinity groups) whose final-state rule may be stricter than
    kube-scheduler in some order (``model/interpod_rules.py``): a solver's optimum is then no
    proof until a model without them finds nothing better."""
    links = class_links(problem)
    order = affinity_order(problem, links)
    spread = set()
    for g, spread_group in enumerate(problem.spread):
        mixed = set(spread_group.carriers) ^ set(spread_group.matchers)
        counted = spread_group.counted_set
        if any(counted.intersection(problem.classes[c].eligible) for c in mixed):
            spread.add(g)  # pods that match it without carrying it, or carry without matching
    carried = {c: link.affinity_carried[0] for c, link in enumerate(links) if link.affinity_carried}
    affinity = set()
    for g, group in enumerate(problem.affinity):
        cut = any(
            c in carried and carried[c] != g and order.ranks[carried[c]] > order.ranks[g]
            for c in group.matchers
        )  # its carriers and another group's witness each other
        several = (
            group.bootstrap
            and group.self_matching
            and not first_pod_allowed(problem, g, order.witnesses[g])
        )  # a first pod with several terms
        if cut or several:
            affinity.add(g)
    return frozenset(spread), frozenset(affinity)


def first_pod_allowed(problem: Problem, g: int, witnesses: frozenset[int]) -> bool:
    """May the group's carriers rely on a *first pod* (one landing where no witness is, before
    any matching pod exists)? Only if no immovable pod matches (``bootstrap``), a carrier matches
    itself, and the first pod's domains are one per term: one term, or no landing witness
    (``witnesses``, the group's) that could make others use different domains per term. The
    running matching pods must also all leave: each user checks that no matcher stays."""
    group = problem.affinity[g]
    if not group.bootstrap or not group.self_matching:
        return False
    return len(group.topologies) == 1 or not witnesses


def _array(size: int, pairs: Sequence[tuple[int, int]] = ()) -> IntArray:
    out = np.zeros(size + 1, dtype=np.int64)
    for d, k in pairs:
        out[d] += k
    return out


class InterPodState:
    """Domain counts of one placement (``counts``: per class, node -> pods)."""

    def __init__(self, problem: Problem, counts: Sequence[Mapping[int, int]]) -> None:
        self.problem = problem
        self.links = class_links(problem)
        self.order = affinity_order(problem, self.links)
        self.running = [cls.running_on() for cls in problem.classes]
        self.x: list[dict[int, int]] = [dict(c) for c in counts]
        self.domain_of = [np.array(t.domain_of, dtype=np.intp) for t in problem.topologies]
        sizes = [len(t.values) for t in problem.topologies]
        self.anti_c = [_array(sizes[g.topology]) for g in problem.anti_affinity]
        self.anti_m = [_array(sizes[g.topology]) for g in problem.anti_affinity]
        for g, anti in enumerate(problem.anti_affinity):
            for d, carriers, matchers, _both in anti.fixed:
                self.anti_c[g][d] += carriers
                self.anti_m[g][d] += matchers
        self.spread_f = [_array(sizes[g.topology], g.fixed) for g in problem.spread]
        self.spread_landed = [_array(sizes[g.topology]) for g in problem.spread]
        self.spread_in: list[BoolArray] = []
        self.spread_counted: list[BoolArray] = []
        for group in problem.spread:
            inside = np.zeros(sizes[group.topology] + 1, dtype=bool)
            inside[list(group.domains)] = True
            self.spread_in.append(inside)
            counted = np.zeros(len(problem.nodes), dtype=bool)
            counted[list(group.counted)] = True
            self.spread_counted.append(counted)
        self.witness = [
            [_array(sizes[t], w) for t, w in zip(g.topologies, g.witnesses, strict=True)]
            for g in problem.affinity
        ]
        self.present = [[w.copy() for w in terms] for terms in self.witness]
        self.affinity_landed = [[_array(sizes[t]) for t in g.topologies] for g in problem.affinity]
        self.affinity_landed_self = [
            [_array(sizes[t]) for t in g.topologies] for g in problem.affinity
        ]
        self.first_pod = [
            first_pod_allowed(problem, g, self.order.witnesses[g])
            for g in range(len(problem.affinity))
        ]
        self.anywhere = [g.fixed_anywhere for g in problem.affinity]
        self.matcher_stays = [0] * len(problem.affinity)
        """Per group, running matching pods that stay on nodes with its keys: while one does, no
        first pod may land alone (kube-scheduler sees it after the evictions)."""
        self.placed = [0] * len(problem.classes)
        self.landed_never: dict[int, int] = defaultdict(int)
        for cls, placed in zip(problem.classes, counts, strict=True):
            for node, k in placed.items():
                self.x[cls.index][node] = 0
                self._change(cls, node, k)

    # --- bookkeeping ----------------------------------------------------------------------

    def change(self, cls: PodClass, node: int, delta: int) -> None:
        self._change(cls, node, delta)

    def _change(self, cls: PodClass, node: int, delta: int) -> None:
        c = cls.index
        before = self.x[c].get(node, 0)
        after = before + delta
        self.x[c][node] = after
        run = self.running[c].get(node, 0)
        stays = min(after, run) - min(before, run)
        lands = (after - min(after, run)) - (before - min(before, run))
        self.placed[c] += delta
        if not cls.preempts:
            self.landed_never[cls.priority] += lands
        link = self.links[c]
        problem = self.problem
        for g in link.anti_carried:
            self.anti_c[g][self._domain(problem.anti_affinity[g].topology, node)] += delta
        for g in link.anti_matched:
            self.anti_m[g][self._domain(problem.anti_affinity[g].topology, node)] += delta
        for g in link.spread_matched:
            if self.spread_counted[g][node]:
                self.spread_f[g][self._domain(problem.spread[g].topology, node)] += delta
        for g in link.spread_carried:
            self.spread_landed[g][self._domain(problem.spread[g].topology, node)] += lands
        for g in link.affinity_matched:
            self._affinity_matcher(g, c, node, delta, stays)
        for g in link.affinity_carried:
            is_self = c in problem.affinity[g].self_matching
            for i, t in enumerate(problem.affinity[g].topologies):
                self.affinity_landed[g][i][self._domain(t, node)] += lands
                if is_self:
                    self.affinity_landed_self[g][i][self._domain(t, node)] += lands

    def _affinity_matcher(self, g: int, c: int, node: int, delta: int, stays: int) -> None:
        domains = [self._domain(t, node) for t in self.problem.affinity[g].topologies]
        for i, d in enumerate(domains):
            self.present[g][i][d] += delta
            self.witness[g][i][d] += delta if c in self.order.witnesses[g] else stays
        if any(self.domain_of[t][node] >= 0 for t in self.problem.affinity[g].topologies):
            self.anywhere[g] += delta
            self.matcher_stays[g] += stays

    def _domain(self, topology: int, node: int) -> int:
        d = int(self.domain_of[topology][node])
        return d if d >= 0 else -1

    def lands(self, cls: PodClass, node: int) -> bool:
        """Would one more pod of ``cls`` on ``node`` be a new arrival (not a stay)?"""
        return self.x[cls.index].get(node, 0) >= self.running[cls.index].get(node, 0)

    def _lands_mask(self, cls: PodClass, nodes: npt.NDArray[np.intp]) -> BoolArray:
        lands = np.ones(len(self.problem.nodes), dtype=bool)
        placed = self.x[cls.index]
        for node, run in self.running[cls.index].items():
            if placed.get(node, 0) < run:
                lands[node] = False
        return lands[nodes]

    def displaced_below(self, priority: int) -> int:
        """Running pods of lower priority that have no place in this placement."""
        return sum(
            max(0, cls.running_count - self.placed[cls.index])
            for cls in self.problem.classes
            if cls.priority < priority
        )

    # --- the model's rules, for the greedy solver -----------------------------------------

    def spread_min(self, g: int) -> int:
        group = self.problem.spread[g]
        if len(group.domains) < group.min_domains:
            return 0  # fewer domains than minDomains: the global minimum is 0
        return int(self.spread_f[g][list(group.domains)].min())

    def _spread_ok_after_add(self, g: int, cls: PodClass, nodes: npt.NDArray[np.intp]) -> BoolArray:
        group = self.problem.spread[g]
        f = self.spread_f[g]
        landed = self.spread_landed[g]
        dom = self.domain_of[group.topology][nodes]
        matches = cls.index in group.matchers
        inc = (self.spread_counted[g][nodes] & matches).astype(np.int64)
        fixed_min = len(group.domains) < group.min_domains
        current = f[list(group.domains)]
        low = int(current.min()) if len(current) else 0
        at_low = int((current == low).sum()) if len(current) else 0
        if fixed_min:
            new_min = np.zeros(len(nodes), dtype=np.int64)
        else:
            raised = (inc > 0) & (f[dom] == low) & (at_low == 1) & self.spread_in[g][dom]
            new_min = low + raised.astype(np.int64)
        landed_domains = landed > 0
        landed_domains[-1] = False
        top = int(f[landed_domains].max()) if landed_domains.any() else -(1 << 40)
        carrier = cls.index in group.carriers
        lands = self._lands_mask(cls, nodes) if carrier else None
        here = landed[dom] > 0
        if lands is not None:
            here = here | lands
        new_top = np.where(here & (dom >= 0), np.maximum(top, f[dom] + inc), top)
        return np.asarray(new_top - new_min <= group.max_skew, dtype=bool)

    def _first_domain(self, g: int, i: int) -> int | None:
        """The domain of term ``i`` where carriers landed with no witness (the first pod's)."""
        bare = (self.affinity_landed[g][i] > 0) & (self.witness[g][i] <= 0)
        bare[-1] = False
        found = np.flatnonzero(bare)
        return int(found[0]) if len(found) else None

    def _affinity_ok_after_add(
        self, g: int, cls: PodClass, nodes: npt.NDArray[np.intp]
    ) -> BoolArray:
        group = self.problem.affinity[g]
        lands = self._lands_mask(cls, nodes)
        ok = np.ones(len(nodes), dtype=bool)
        for i, t in enumerate(group.topologies):
            dom = self.domain_of[t][nodes]
            here = self.witness[g][i][dom] > 0
            if self.first_pod[g] and self.matcher_stays[g] == 0:
                first = self._first_domain(g, i)
                if first is not None:
                    here |= dom == first
                elif cls.index in group.self_matching:
                    here |= dom >= 0  # it becomes the group's first pod
            ok &= here
        return ok | ~lands

    def model_mask(self, cls: PodClass, nodes: npt.NDArray[np.intp]) -> BoolArray:
        """Among ``nodes``, where one more pod of ``cls`` keeps every final-state rule."""
        link = self.links[cls.index]
        ok = np.ones(len(nodes), dtype=bool)
        for g in link.anti_carried:
            ok &= self.anti_m[g][self.domain_of[self.problem.anti_affinity[g].topology][nodes]] == 0
        for g in link.anti_matched:
            ok &= self.anti_c[g][self.domain_of[self.problem.anti_affinity[g].topology][nodes]] == 0
        for g in sorted(set(link.spread_carried) | set(link.spread_matched)):
            ok &= self._spread_ok_after_add(g, cls, nodes)
        for g in link.affinity_carried:
            ok &= self._affinity_ok_after_add(g, cls, nodes)
        if not cls.preempts and self.displaced_below(cls.priority) > 0:
            ok &= ~self._lands_mask(cls, nodes)
        return ok

    def model_holds(self, changed: Sequence[PodClass]) -> bool:
        """After pods of ``changed`` left, do the final-state rules they take part in still hold?"""
        spread: set[int] = set()
        affinity: set[int] = set()
        for cls in changed:
            spread.update(self.links[cls.index].spread_matched)
            affinity.update(self.links[cls.index].affinity_matched)
            affinity.update(self.links[cls.index].affinity_carried)
        for g in spread:
            landed = self.spread_landed[g] > 0
            landed[-1] = False
            if landed.any():
                top = int(self.spread_f[g][landed].max())
                if top - self.spread_min(g) > self.problem.spread[g].max_skew:
                    return False
        for g in affinity:
            if not self._affinity_holds(g):
                return False
        return all(
            self.displaced_below(q) == 0 for q, landed in self.landed_never.items() if landed > 0
        )

    def _affinity_holds(self, g: int) -> bool:
        """Every landing carrier's domain has a witness, but for the first pod's domain (one per
        term, where a self-matching carrier landed)."""
        for i in range(len(self.problem.affinity[g].topologies)):
            bare = (self.affinity_landed[g][i] > 0) & (self.witness[g][i] <= 0)
            bare[-1] = False
            count = int(bare.sum())
            if count > (1 if self.first_pod[g] and self.matcher_stays[g] == 0 else 0):
                return False
            if count and not (self.affinity_landed_self[g][i][bare] > 0).all():
                return False
        return True

    # --- kube-scheduler's filters, for the landing order ----------------------------------

    def kube_allows(self, cls: PodClass, node: int) -> bool:
        """Would kube-scheduler's InterPodAffinity and PodTopologySpread filters pass one more
        pod of ``cls`` on ``node`` now?"""
        link = self.links[cls.index]
        problem = self.problem
        for g in link.anti_carried:
            if self.anti_m[g][self._domain(problem.anti_affinity[g].topology, node)] > 0:
                return False
        for g in link.anti_matched:
            if self.anti_c[g][self._domain(problem.anti_affinity[g].topology, node)] > 0:
                return False
        for g in link.spread_carried:
            if not self._kube_spread(g, cls, node):
                return False
        return all(self._kube_affinity(g, cls, node) for g in link.affinity_carried)

    def _kube_spread(self, g: int, cls: PodClass, node: int) -> bool:
        """``podtopologyspread/filtering.go`` Filter: matchNum + selfMatchNum - minMatchNum."""
        group = self.problem.spread[g]
        d = self._domain(group.topology, node)
        if d < 0:
            return False  # the node lacks the topology key
        if not group.domains:
            return True  # no eligible domain: the minimum is MaxInt32
        self_match = 1 if cls.index in group.matchers else 0
        return int(self.spread_f[g][d]) + self_match - self.spread_min(g) <= group.max_skew

    def _kube_affinity(self, g: int, cls: PodClass, node: int) -> bool:
        """``interpodaffinity/filtering.go`` satisfyPodAffinity, with a witness that is not
        terminating; else the first pod of a self-matching group."""
        group = self.problem.affinity[g]
        domains = [self._domain(t, node) for t in group.topologies]
        if any(d < 0 for d in domains):
            return False
        if all(self.present[g][i][d] > 0 for i, d in enumerate(domains)):
            return True
        return self.anywhere[g] == 0 and cls.index in group.self_matching
