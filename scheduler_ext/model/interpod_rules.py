"""The inter-pod rules a placement must keep, and the order that makes kube-scheduler accept it.

kube-scheduler checks each pod against the pods that exist when it is scheduled, so a rule about
the final placement is only sound together with the order the plan is carried out in. The order
every plan assumes (and ``solvers/cpsat/README.md`` documents):

1. Every eviction (and the eviction half of every move) first; landings wait until the evicted pods
   are gone (anti-affinity counts terminating pods, spread does not).
2. Then the pods that land (bindings, and the replacements of moved pods), one at a time, in the
   order ``landing_order`` returns: pods carrying no affinity terms first, then the first pod of a
   self-matching affinity group, then the other affinity carriers; within that, by the count their
   spread domain will reach (lowest first), carriers that do not match their own spread selector
   after every pod that does. Pods no inter-pod rule involves may land at any time after step 1.

The final-state rules (what every solver keeps, and ``final_violations`` checks):

- Anti-affinity: in every domain not already broken before the plan, no carrier of a term shares
  the domain with another pod the term selects. Landings only add pods, so any order passes.
- Spread: for each constraint, in every domain a carrier lands in, the final matching count minus
  the smallest count over the constraint's domains (0 with fewer than minDomains) is at most
  maxSkew. In the order above each carrier then passes ``matchNum + self - min <= maxSkew``: when it
  lands at count j, every domain holds min(final, j - 1) or more.
- Affinity: a carrier lands only in domains (per term) holding a *witness*: an immovable pod
  matching every term, a running one that stays, or a landing pod that carries no affinity terms
  (it lands first). If no matching pod runs anywhere and no such pod exists (``bootstrap``), all
  landing carriers share one domain per term and a self-matching one lands first, alone
  (kube-scheduler lets it: no pod in the cluster matches yet).
- ``preemptionPolicy: Never`` (``DefaultPreemption.PodEligibleToPreemptOthers``): a plan in which a
  Never pod of priority q lands evicts no pod of lower priority without a new home. This is
  conservative (such evictions may be for a higher pod that may preempt); moves are allowed.

With one spread constraint per pod the order always exists; with several (zone and node) it
usually does, and ``landing_order`` finds it by simulation, falling back to a greedy search; a
placement for which it finds none is not a plan.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from scheduler_ext.model.interpod_state import (
    ClassLinks,
    IntArray,
    InterPodState,
    class_links,
    free_matchers,
)
from scheduler_ext.model.problem import Problem

Counts = Sequence[Mapping[int, int]]
Unit = tuple[int, int]
"""(class, node): one pod of the class lands on the node."""

MAX_SEARCHED_LANDINGS = 2_000
"""Beyond this many landings the greedy search for an order is not tried (it is quadratic)."""
LAST = 1 << 40


def _stays(problem: Problem, counts: Counts) -> list[dict[int, int]]:
    out = []
    for cls, placed in zip(problem.classes, counts, strict=True):
        running = cls.running_on()
        out.append({n: min(k, running.get(n, 0)) for n, k in placed.items() if running.get(n)})
    return out


def _landings(problem: Problem, counts: Counts) -> list[dict[int, int]]:
    out = []
    for cls, placed in zip(problem.classes, counts, strict=True):
        running = cls.running_on()
        out.append({n: k - running.get(n, 0) for n, k in placed.items() if k > running.get(n, 0)})
    return out


def _sums(
    problem: Problem, rows: Sequence[Mapping[int, int]], classes: Sequence[int], topology: int
) -> IntArray:
    """Per domain of ``topology`` (plus a last slot for nodes without it), pods of ``classes``."""
    domain_of = problem.topologies[topology].domain_of
    out = np.zeros(len(problem.topologies[topology].values) + 1, dtype=np.int64)
    for c in classes:
        for node, k in rows[c].items():
            out[domain_of[node]] += k
    return out


def _anti(problem: Problem, counts: Counts) -> list[str]:
    found = []
    for g, group in enumerate(problem.anti_affinity):
        both = sorted(set(group.carriers) & set(group.matchers))
        c = _sums(problem, counts, group.carriers, group.topology)
        m = _sums(problem, counts, group.matchers, group.topology)
        b = _sums(problem, counts, both, group.topology)
        for d, carriers, matchers, fixed_both in group.fixed:
            c[d] += carriers
            m[d] += matchers
            b[d] += fixed_both
        closed = set(group.closed)
        for d in range(len(c) - 1):
            if d in closed or c[d] == 0 or m[d] == 0:
                continue
            if m[d] > b[d] or b[d] > 1 or c[d] > b[d]:
                value = problem.topologies[group.topology].values[d]
                found.append(
                    f"anti-affinity group {g}: a carrier and another pod it selects in {value}"
                )
    return found


def _spread(problem: Problem, counts: Counts, landings: Counts) -> list[str]:
    found = []
    for g, group in enumerate(problem.spread):
        counted = group.counted_set
        rows = [{n: k for n, k in counts[c].items() if n in counted} for c in range(len(counts))]
        f = _sums(problem, rows, group.matchers, group.topology)
        for d, k in group.fixed:
            f[d] += k
        landed = _sums(problem, landings, group.carriers, group.topology)
        low = 0
        if len(group.domains) >= group.min_domains and group.domains:
            low = int(f[list(group.domains)].min())
        for d in range(len(f) - 1):
            if landed[d] > 0 and f[d] - low > group.max_skew:
                value = problem.topologies[group.topology].values[d]
                found.append(
                    f"spread group {g}: {value} holds {f[d]}, the smallest count is {low}, "
                    f"maxSkew {group.max_skew}"
                )
    return found


def _affinity(
    problem: Problem, counts: Counts, landings: Counts, links: list[ClassLinks]
) -> list[str]:
    found = []
    stays = _stays(problem, counts)
    free = free_matchers(problem, links)
    for g, group in enumerate(problem.affinity):
        landed_any = sum(sum(landings[c].values()) for c in group.carriers)
        if landed_any == 0:
            continue
        if group.bootstrap:
            if not any(landings[c] for c in group.self_matching):
                found.append(f"affinity group {g}: no matching pod exists and none lands first")
            for t in group.topologies:
                landed = _sums(problem, landings, group.carriers, t)
                if int((landed[:-1] > 0).sum()) > 1:
                    found.append(f"affinity group {g}: first pods land in several domains")
            continue
        for t, witnesses in zip(group.topologies, group.witnesses, strict=True):
            w = _sums(problem, stays, [c for c in group.matchers if c not in free], t)
            w += _sums(problem, counts, [c for c in group.matchers if c in free], t)
            for d, k in witnesses:
                w[d] += k
            landed = _sums(problem, landings, group.carriers, t)
            for bad in np.flatnonzero((landed[:-1] > 0) & (w[:-1] <= 0)):
                value = problem.topologies[t].values[int(bad)]
                found.append(f"affinity group {g}: a carrier lands in {value} with no pod it needs")
    return found


def _never(problem: Problem, counts: Counts, landings: Counts) -> list[str]:
    landed: dict[int, int] = defaultdict(int)
    for cls in problem.classes:
        if not cls.preempts:
            landed[cls.priority] += sum(landings[cls.index].values())
    found = []
    for priority, k in sorted(landed.items()):
        if k == 0:
            continue
        evicted = sum(
            max(0, cls.running_count - sum(counts[cls.index].values()))
            for cls in problem.classes
            if cls.priority < priority
        )
        if evicted:
            found.append(
                f"{k} pods of priority {priority} with preemptionPolicy Never land while "
                f"{evicted} lower-priority pods are evicted"
            )
    return found


def final_violations(problem: Problem, counts: Counts) -> list[str]:
    """Every final-state inter-pod rule ``counts`` breaks (see the module docstring)."""
    if not problem.has_interpod:
        return []
    landings = _landings(problem, counts)
    links = class_links(problem)
    return (
        _anti(problem, counts)
        + _spread(problem, counts, landings)
        + _affinity(problem, counts, landings, links)
        + _never(problem, counts, landings)
    )


# --- the landing order -------------------------------------------------------------------------


def _phase(problem: Problem, links: list[ClassLinks], c: int) -> int:
    groups = links[c].affinity_carried
    if not groups:
        return 0
    first = all(
        problem.affinity[g].bootstrap and c in problem.affinity[g].self_matching for g in groups
    )
    return 1 if first else 2


def _keys(problem: Problem, state: InterPodState, units: list[Unit]) -> list[tuple[int, ...]]:
    """A sort key per unit: phase, then the highest count it brings a spread domain to."""
    level = [0] * len(units)
    order = sorted(range(len(problem.spread)), key=lambda g: -len(problem.spread[g].domains))
    for g in order:
        group = problem.spread[g]
        matchers = set(group.matchers)
        carriers = set(group.carriers)
        topology = problem.topologies[group.topology].domain_of
        by_domain: dict[int, list[int]] = defaultdict(list)
        for u, (c, n) in enumerate(units):
            if c in matchers and n in group.counted_set:
                by_domain[topology[n]].append(u)
            elif c in carriers:
                level[u] = LAST  # a carrier it does not count waits until the counts are final
        for d, members in by_domain.items():
            start = int(state.spread_f[g][d])
            for j, u in enumerate(sorted(members, key=lambda u: (level[u], units[u]))):
                level[u] = max(level[u], start + j + 1)
    links = state.links
    return [(_phase(problem, links, c), level[u], c, n) for u, (c, n) in enumerate(units)]


def _search(problem: Problem, state: InterPodState, units: list[Unit]) -> list[Unit] | None:
    """Greedy: repeatedly the lowest-keyed landing the filters pass now."""
    remaining = Counter(units)
    links = state.links
    order: list[Unit] = []
    while remaining:
        best: tuple[tuple[int, ...], Unit] | None = None
        for (c, n), k in remaining.items():
            if k <= 0 or not state.kube_allows(problem.classes[c], n):
                continue
            counts = [
                int(state.spread_f[g][problem.topologies[problem.spread[g].topology].domain_of[n]])
                for g in links[c].spread_matched
            ]
            key = (_phase(problem, links, c), max(counts, default=0), c, n)
            if best is None or key < best[0]:
                best = (key, (c, n))
        if best is None:
            return None
        unit = best[1]
        state.change(problem.classes[unit[0]], unit[1], +1)
        remaining[unit] -= 1
        if remaining[unit] == 0:
            del remaining[unit]
        order.append(unit)
    return order


def landing_order(problem: Problem, counts: Counts) -> list[Unit] | None:
    """The landings of pods an inter-pod rule involves, one unit per pod, in an order that passes
    kube-scheduler's filters after every eviction is done; None if none is found."""
    links = class_links(problem)
    landings = _landings(problem, counts)
    units = [
        (c, n)
        for c, row in enumerate(landings)
        if links[c].involved
        for n, k in sorted(row.items())
        for _ in range(k)
    ]
    if not units:
        return []
    stays = _stays(problem, counts)
    state = InterPodState(problem, stays)
    keys = _keys(problem, state, units)
    ordered = [units[u] for u in sorted(range(len(units)), key=lambda u: keys[u])]
    for done, (c, n) in enumerate(ordered):
        if not state.kube_allows(problem.classes[c], n):
            if len(units) > MAX_SEARCHED_LANDINGS:
                return None
            rest = _search(problem, state, ordered[done:])
            return None if rest is None else ordered[:done] + rest
        state.change(problem.classes[c], n, +1)
    return ordered
