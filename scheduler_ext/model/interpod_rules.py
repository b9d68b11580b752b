"""The inter-pod rules a placement must keep, and the order that makes kube-scheduler accept it.

kube-scheduler checks each pod against the pods that exist when it is scheduled, so a rule about
the final placement is only sound together with the order the plan is carried out in. The order
every plan assumes (and ``solvers/cpsat/README.md`` documents):

1. Every eviction (and the eviction half of every move) first; landings wait until the evicted pods
   are gone (anti-affinity counts terminating pods, spread does not).
2. Then the pods that land (bindings, and the replacements of moved pods), one at a time, in the
   order ``landing_order`` returns: the first pod of each self-matching affinity group without a
   running matching pod, then pods carrying no affinity terms, then the affinity carriers group
   by group (``interpod_state.affinity_order``: a group whose carriers witness for another first);
   within that, by the count their spread domain will reach (lowest first), carriers that do not
   match their own spread selector after every pod that does, and the late pods last. Pods no
   inter-pod rule involves may land at any time after step 1.

The final-state rules (what every solver keeps, and ``final_violations`` checks):

- Anti-affinity: in every domain, no carrier of a term shares the domain with another pod the
  term selects; where running pods broke it before the plan (IgnoredDuringExecution), only once
  a pod the term involves lands there. Landings only add pods, so any order passes.
- Spread: for each constraint, some of the landing pods that match it without carrying it may
  land *late* (after the carriers of their domain), the others early; with the counts each domain
  then holds while carriers land (final minus its late pods), every domain a carrier lands in is
  at most maxSkew above the smallest count over the constraint's domains (0 with fewer than
  minDomains). In the order above each carrier then passes ``matchNum + self - min <= maxSkew``:
  when it lands at count j, every domain holds min(its count, j - 1) or more.
- Affinity: a carrier lands only in domains (per term) holding a *witness*: an immovable pod
  matching every term (terminating ones too), a running one that stays, or a landing pod that lands
  earlier (one without affinity terms, or a carrier of a group ranked before). If no immovable
  pod matches (``bootstrap``) and no running matching pod stays, one domain per term may lack a
  witness if a self-matching carrier lands there: it is the group's first pod, landing before
  any other, which kube-scheduler lets pass while no pod in the cluster matches (with several
  terms, only if no landing witness exists, so the domains are one node's).
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
    affinity_order,
    class_links,
    first_pod_allowed,
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


def _anti(problem: Problem, counts: Counts, landings: Counts) -> list[str]:
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
        involved = sorted(set(group.carriers) | set(group.matchers))
        landed = _sums(problem, landings, involved, group.topology)
        closed = set(group.closed)
        for d in range(len(c) - 1):
            if (d in closed and landed[d] == 0) or c[d] == 0 or m[d] == 0:
                continue
            if m[d] > b[d] or b[d] > 1 or c[d] > b[d]:
                value = problem.topologies[group.topology].values[d]
                found.append(
                    f"anti-affinity group {g}: a carrier and another pod it selects in {value}"
                )
    return found


def spread_counts(problem: Problem, counts: Counts, g: int) -> tuple[IntArray, IntArray]:
    """Per domain of spread group ``g`` (counted nodes only): the final matching pods, and those
    of them landing that match without carrying the constraint (they may land late)."""
    group = problem.spread[g]
    counted = group.counted_set
    carriers = set(group.carriers)
    domain_of = problem.topologies[group.topology].domain_of
    size = len(problem.topologies[group.topology].values) + 1
    final = np.zeros(size, dtype=np.int64)
    others = np.zeros(size, dtype=np.int64)
    for c in group.matchers:
        running = problem.classes[c].running_on()
        for n, k in counts[c].items():
            if n in counted:
                final[domain_of[n]] += k
                if c not in carriers:
                    others[domain_of[n]] += max(0, k - running.get(n, 0))
    for d, k in group.fixed:
        final[d] += k
    return final, others


def spread_plan(
    problem: Problem, g: int, final: IntArray, others: IntArray, landed: IntArray
) -> IntArray | None:
    """The counts each domain holds while the carriers land (``final`` less the pods landing
    late there), such that every receiving domain is within maxSkew of the smallest; None if no
    choice of late pods makes it so. Tries each smallest value: a receiving domain then holds as
    few as it may but no fewer than it, the others all their pods."""
    group = problem.spread[g]
    receiving = landed > 0
    receiving[-1] = False
    if not receiving.any():
        return final
    lowest = final - np.where(receiving, others, 0)
    if len(group.domains) < group.min_domains:
        ok = bool((lowest[:-1][receiving[:-1]] <= group.max_skew).all())
        return lowest if ok else None
    domains = list(group.domains)
    for floor in range(int(final[domains].max()), -1, -1):
        held = np.where(receiving, np.maximum(lowest, floor), final)
        if int(held[domains].min()) < floor or (held > final).any():
            continue
        if int(held[:-1][receiving[:-1]].max()) - int(held[domains].min()) <= group.max_skew:
            return held
    return None


def _spread(problem: Problem, counts: Counts, landings: Counts) -> list[str]:
    found = []
    for g, group in enumerate(problem.spread):
        landed = _sums(problem, landings, group.carriers, group.topology)
        final, others = spread_counts(problem, counts, g)
        if spread_plan(problem, g, final, others, landed) is None:
            found.append(
                f"spread group {g}: a carrier lands more than maxSkew {group.max_skew} above"
            )
    return found


def _witnesses(
    problem: Problem, counts: Counts, stays: Counts, landing: frozenset[int], g: int, i: int
) -> IntArray:
    """Per domain of term ``i``: immovable witnesses, staying matching pods, and landing matching
    pods of classes without affinity terms (they land first)."""
    group = problem.affinity[g]
    t = group.topologies[i]
    w = _sums(problem, stays, [c for c in group.matchers if c not in landing], t)
    w += _sums(problem, counts, [c for c in group.matchers if c in landing], t)
    for d, k in group.witnesses[i]:
        w[d] += k
    return w


def matchers_stay(problem: Problem, counts: Counts, g: int) -> bool:
    """Does a running matching pod of group ``g`` stay on a node with one of its keys?"""
    group = problem.affinity[g]
    keyed = [problem.topologies[t].domain_of for t in group.topologies]
    stays = _stays(problem, counts)
    return any(
        k > 0 and any(domain_of[n] >= 0 for domain_of in keyed)
        for c in group.matchers
        for n, k in stays[c].items()
    )


def _bare_domains(
    problem: Problem, counts: Counts, landings: Counts, landing: frozenset[int], g: int
) -> list[tuple[IntArray, IntArray]]:
    """Per term: (domains where carriers land without a witness, self-matching landings)."""
    group = problem.affinity[g]
    stays = _stays(problem, counts)
    out = []
    for i, t in enumerate(group.topologies):
        w = _witnesses(problem, counts, stays, landing, g, i)
        landed = _sums(problem, landings, group.carriers, t)
        selfs = _sums(problem, landings, group.self_matching, t)
        out.append((np.flatnonzero((landed[:-1] > 0) & (w[:-1] <= 0)), selfs))
    return out


def _affinity(
    problem: Problem, counts: Counts, landings: Counts, links: list[ClassLinks]
) -> list[str]:
    found = []
    witnesses = affinity_order(problem, links).witnesses
    for g, group in enumerate(problem.affinity):
        if not any(landings[c] for c in group.carriers):
            continue
        first = first_pod_allowed(problem, g, witnesses[g]) and not matchers_stay(
            problem, counts, g
        )
        allowed = 1 if first else 0
        bare_domains = _bare_domains(problem, counts, landings, witnesses[g], g)
        for i, (bare, selfs) in enumerate(bare_domains):
            values = problem.topologies[group.topologies[i]].values
            if len(bare) > allowed or any(selfs[d] <= 0 for d in bare):
                where = ", ".join(values[int(d)] for d in bare)
                found.append(f"affinity group {g}: carriers land in {where} with no pod they need")
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
        _anti(problem, counts, landings)
        + _spread(problem, counts, landings)
        + _affinity(problem, counts, landings, links)
        + _never(problem, counts, landings)
    )


# --- the landing order -------------------------------------------------------------------------


def _phase(state: InterPodState, c: int) -> int:
    """Pods without affinity terms land before the affinity carriers (they may be witnesses),
    then the carriers group by group in ``affinity_order``'s ranks."""
    carried = state.links[c].affinity_carried
    return 1 + state.order.ranks[carried[0]] if carried else 0


def _first_pods(problem: Problem, counts: Counts, units: list[Unit]) -> set[int]:
    """Per group relying on a first pod, one self-matching landing in its bare domains: it lands
    before everything (kube-scheduler lets it while no matching pod exists)."""
    links = class_links(problem)
    witnesses = affinity_order(problem, links).witnesses
    landings = _landings(problem, counts)
    first: set[int] = set()
    for g, group in enumerate(problem.affinity):
        if not first_pod_allowed(problem, g, witnesses[g]) or matchers_stay(problem, counts, g):
            continue
        bare = [b for b, _ in _bare_domains(problem, counts, landings, witnesses[g], g)]
        if not any(len(b) for b in bare):
            continue
        domains = [problem.topologies[t].domain_of for t in group.topologies]
        for u, (c, n) in enumerate(units):
            inside = all(not len(b) or domains[i][n] == b[0] for i, b in enumerate(bare))
            if c in group.self_matching and inside:
                first.add(u)
                break
    return first


def _keys(
    problem: Problem, counts: Counts, state: InterPodState, units: list[Unit], first: set[int]
) -> list[tuple[int, ...]]:
    """A sort key per unit: phase, then the highest count it brings a spread domain to; per spread
    constraint, carriers it does not count after the pods it counts, and when only the late rule
    holds, matching pods that do not carry it after those carriers."""
    level = [0] * len(units)
    landings = _landings(problem, counts)
    order = sorted(range(len(problem.spread)), key=lambda g: -len(problem.spread[g].domains))
    for g in order:
        group = problem.spread[g]
        matchers = set(group.matchers)
        carriers = set(group.carriers)
        landed = _sums(problem, landings, group.carriers, group.topology)
        final, others = spread_counts(problem, counts, g)
        held = spread_plan(problem, g, final, others, landed)
        late = final - (final if held is None else held)  # late landers per domain
        topology = problem.topologies[group.topology].domain_of
        by_domain: dict[int, list[int]] = defaultdict(list)
        for u, (c, n) in enumerate(units):
            if c in matchers and n in group.counted_set:
                d = topology[n]
                if c not in carriers and late[d] > 0:
                    late[d] -= 1
                    level[u] = LAST  # it lands once the domain's carriers are done
                else:
                    by_domain[d].append(u)
            elif c in carriers:
                level[u] = max(level[u], LAST - 1)  # after the pods it counts, before late ones
        for d, members in by_domain.items():
            start = int(state.spread_f[g][d])
            for j, u in enumerate(sorted(members, key=lambda u: (level[u], units[u]))):
                level[u] = max(level[u], start + j + 1)
    return [
        (u not in first, level[u] >= LAST - 1, _phase(state, c), level[u], c, n)
        for u, (c, n) in enumerate(units)
    ]


def _search(
    problem: Problem, state: InterPodState, units: list[Unit], first: set[Unit]
) -> list[Unit] | None:
    """Greedy: repeatedly the lowest-keyed landing the filters pass now (first pods first)."""
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
            key = ((c, n) not in first, _phase(state, c), max(counts, default=0), c, n)
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
    first = _first_pods(problem, counts, units)
    keys = _keys(problem, counts, state, units, first)
    ordered = [units[u] for u in sorted(range(len(units)), key=lambda u: keys[u])]
    for c, n in ordered:
        if not state.kube_allows(problem.classes[c], n):
            if len(units) > MAX_SEARCHED_LANDINGS:
                return None
            firsts = {units[u] for u in first}
            return _search(problem, InterPodState(problem, stays), ordered, firsts)
        state.change(problem.classes[c], n, +1)
    return ordered


def landing_pods(problem: Problem, counts: Counts, landed: Mapping[str, str]) -> list[str] | None:
    """``landing_order`` as pod keys, for the plan: ``landed`` maps each binding's and move's
    pod to its node name; each (class, node) unit takes the next such pod of the class there."""
    order = landing_order(problem, counts)
    if order is None:
        return None
    names = [slot.name for slot in problem.nodes]
    waiting: dict[Unit, list[str]] = defaultdict(list)
    for c, members in enumerate(problem.members):
        for pod in (*members.pending, *(p for _, pods in members.running for p in pods)):
            if pod.key in landed:
                waiting[(c, names.index(landed[pod.key]))].append(pod.key)
    return [waiting[unit].pop(0) for unit in order if waiting[unit]]
