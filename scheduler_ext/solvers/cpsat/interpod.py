"""The inter-pod rules as CP-SAT constraints, by topology domain: one function per rule.

Each rule is the final-state rule of ``model/interpod_rules.py`` (read there why it is sound with
the landing order it assumes), written over sums per domain of the class x node variables, with
the immovable pods as constants. In a neighbourhood model (``scope``), the counts on nodes outside
the scope are constants taken from the incumbent, so a domain that reaches outside the scope still
sees all of its pods. A pod *lands* on a node when it ends there without running there now:
``x - stay`` on a node where its class runs, ``x`` elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduler_ext.model.interpod_state import affinity_order, class_links, first_pod_allowed
from scheduler_ext.model.problem import Problem, SpreadGroup
from scheduler_ext.solvers.cpsat.variables import ClassVariables

Term = tuple[cp_model.IntVar, int]


@dataclass
class Sum:
    """A linear sum of variables (with coefficients) plus a constant, and its upper bound."""

    terms: list[Term] = field(default_factory=list)
    constant: int = 0
    upper: int = 0

    def add(self, var: cp_model.IntVar | int, coefficient: int = 1) -> None:
        if isinstance(var, int):
            self.constant += coefficient * var
            self.upper += coefficient * var
        else:
            self.terms.append((var, coefficient))
            self.upper += max(0, coefficient) * _upper(var)

    @property
    def varies(self) -> bool:
        return bool(self.terms)

    def expr(self) -> cp_model.LinearExpr:
        return (
            cp_model.LinearExpr.weighted_sum([t[0] for t in self.terms], [t[1] for t in self.terms])
            + self.constant
        )


def _upper(var: cp_model.IntVar) -> int:
    return int(list(var.proto.domain)[-1])


def _cells(
    problem: Problem, v: ClassVariables, c: int
) -> Iterator[tuple[int, cp_model.IntVar | int, cp_model.IntVar | int]]:
    """(node, pods that end there, running pods that stay there) for every node class ``c`` may
    hold pods on, as variables in the scope and constants outside it."""
    running = problem.classes[c].running_on()
    for node, var in v.x[c].items():
        yield node, var, v.stay[c].get(node, 0)
    for node, k in v.outside[c].items():
        yield node, k, min(k, running.get(node, 0))


def _sums(
    problem: Problem,
    v: ClassVariables,
    classes: Iterable[int],
    topology: int,
    what: str,
    nodes: Collection[int] | None = None,
) -> dict[int, Sum]:
    """Per domain, the pods of ``classes`` that end there (``what="x"``), stay there ("stay") or
    land there ("land"), counting only ``nodes`` when given."""
    domain_of = problem.topologies[topology].domain_of
    out: dict[int, Sum] = defaultdict(Sum)
    for c in classes:
        for node, x, stay in _cells(problem, v, c):
            d = domain_of[node]
            if d < 0 or (nodes is not None and node not in nodes):
                continue
            if what in ("x", "land"):
                out[d].add(x)
            if what in ("stay", "land"):
                out[d].add(stay, -1 if what == "land" else 1)
    return out


def exact_stays(
    model: cp_model.CpModel, problem: Problem, v: ClassVariables, classes: Iterable[int]
) -> None:
    """``stay == min(x, running)`` for ``classes``. The model only bounds stays from above (the
    disruption stage maximises them), which is enough where a stay only helps (a witness);
    where fewer stays would loosen a rule (counts before late landings, first pods), they must
    be exact."""
    for c in set(classes):
        running = problem.classes[c].running_on()
        for node, stay in v.stay[c].items():
            model.add_min_equality(stay, [v.x[c][node], running[node]])


def _constants(sums: dict[int, Sum], pairs: Iterable[tuple[int, int]]) -> None:
    for d, k in pairs:
        sums[d].add(k)


def add_anti_affinity(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """Per term and domain: no carrier with another pod the term selects.

    With C carriers, B pods that carry and match, N matching pods that do not carry and K carriers
    that do not match, a domain is allowed iff C = 0, or N = 0 and B <= 1 and (B = 0 or K = 0);
    a group whose carriers are its matchers (one replica per domain) is just B <= 1. In a domain
    whose pods already broke the term before the plan (IgnoredDuringExecution) the rule holds
    only once a pod the term involves lands there.
    """
    for group in problem.anti_affinity:
        carriers, matchers = set(group.carriers), set(group.matchers)
        both = _sums(problem, v, carriers & matchers, group.topology, "x")
        only_m = _sums(problem, v, matchers - carriers, group.topology, "x")
        only_c = _sums(problem, v, carriers - matchers, group.topology, "x")
        for d, c_k, m_k, b_k in group.fixed:
            both[d].add(b_k)
            only_m[d].add(m_k - b_k)
            only_c[d].add(c_k - b_k)
        closed = set(group.closed)
        landings = _sums(problem, v, carriers | matchers, group.topology, "land") if closed else {}
        for d in set(both) | set(only_m) | set(only_c):
            b, n, k = both[d], only_m[d], only_c[d]
            if not (b.varies or n.varies or k.varies):
                continue  # immovable pods only: unchanged since before the plan
            when: list[cp_model.LiteralT] = []
            if d in closed:
                if d not in landings or landings[d].upper <= 0:
                    continue  # nothing it involves can land there: its old pairs may stay
                lands = _indicator(model, landings[d])
                when = [] if lands is None else [lands]
            _pair_free(model, b, n, k, when)


def _pair_free(
    model: cp_model.CpModel, b: Sum, n: Sum, k: Sum, when: list[cp_model.LiteralT]
) -> None:
    """No carrier with another pod it selects, while every literal of ``when`` holds."""
    if b.upper > 1:
        model.add(b.expr() <= 1).only_enforce_if(when)
    carrying = Sum(b.terms + k.terms, b.constant + k.constant, b.upper + k.upper)
    if carrying.upper > 0 and n.upper > 0:
        any_carrier = model.new_bool_var("anti_carrier")
        model.add(carrying.expr() <= 0).only_enforce_if([~any_carrier, *when])
        model.add(n.expr() <= 0).only_enforce_if([any_carrier, *when])
    if b.upper > 0 and k.upper > 0:
        any_both = model.new_bool_var("anti_both")
        model.add(b.expr() <= 0).only_enforce_if([~any_both, *when])
        model.add(k.expr() <= 0).only_enforce_if([any_both, *when])


def add_spread(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """Per spread constraint, in every domain a carrier lands in: its count minus the smallest
    count over the constraint's domains (0 with fewer than minDomains) at most maxSkew, where
    ``late[d]`` of the pods landing in d that match without carrying the constraint may land
    after d's carriers and so count in neither (``interpod_rules``: the spread rule)."""
    for group in problem.spread:
        carriers = set(group.carriers)
        landings = _sums(problem, v, group.carriers, group.topology, "land")
        receiving = {d: s for d, s in landings.items() if s.upper > 0}
        if not receiving:
            continue
        counts = _sums(problem, v, group.matchers, group.topology, "x", group.counted_set)
        _constants(counts, group.fixed)
        if group.necessary_only:
            _necessary_spread(model, problem, v, group, counts, receiving)
            continue
        others = [c for c in group.matchers if c not in carriers]
        exact_stays(model, problem, v, others)
        others_land = _sums(problem, v, others, group.topology, "land", group.counted_set)
        seen: dict[int, cp_model.LinearExpr] = {}
        for d in set(group.domains) | set(receiving):
            expr = counts[d].expr()
            if d in receiving and d in others_land and others_land[d].upper > 0:
                late = model.new_int_var(0, others_land[d].upper, f"spread_late_{d}")
                model.add(late <= others_land[d].expr())
                expr = expr - late
            seen[d] = expr
        smallest: cp_model.IntVar | int = 0
        if len(group.domains) >= group.min_domains:
            top = max((counts[d].upper for d in group.domains), default=0)
            low = model.new_int_var(0, top, "spread_min")
            for d in group.domains:
                model.add(low <= seen[d])
            smallest = low
        for d, landed in receiving.items():
            lands = _indicator(model, landed)
            rule = model.add(seen[d] - smallest <= group.max_skew)
            if lands is not None:
                rule.only_enforce_if(lands)


def _necessary_spread(
    model: cp_model.CpModel,
    problem: Problem,
    v: ClassVariables,
    group: SpreadGroup,
    counts: dict[int, Sum],
    receiving: dict[int, Sum],
) -> None:
    """What every real plan meets: when the last self-matching carrier lands in d, d holds at
    least its staying pods and those carriers, and the smallest count is at most the final one."""
    stays = _sums(problem, v, group.matchers, group.topology, "stay", group.counted_set)
    selfs = [c for c in group.carriers if c in set(group.matchers)]
    landed = _sums(problem, v, selfs, group.topology, "land", group.counted_set)
    _constants(stays, group.fixed)
    smallest: cp_model.IntVar | int = 0
    if len(group.domains) >= group.min_domains:
        top = max((counts[d].upper for d in group.domains), default=0)
        smallest = model.new_int_var(0, top, "spread_min")
        for d in group.domains:
            model.add(smallest <= counts[d].expr())
    for d, carriers_land in receiving.items():
        lands = _indicator(model, carriers_land)
        early = stays[d].expr() + (landed[d].expr() if d in landed else 0)
        rule = model.add(early - smallest <= group.max_skew)
        if lands is not None:
            rule.only_enforce_if(lands)


def add_affinity(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """Per affinity group and term, a carrier lands only in a domain with a witness (an immovable
    matching pod, a staying one, or a landing one that lands earlier: ``affinity_order``), but
    for at most one domain per term where a self-matching carrier lands: the group's first pod,
    when no immovable pod matches and no running one stays (``first_pod_allowed``)."""
    landing_witnesses = affinity_order(problem, class_links(problem)).witnesses
    for g, group in enumerate(problem.affinity):
        landing = landing_witnesses[g]
        first_pod = first_pod_allowed(problem, g, landing)
        for t, witnesses in zip(group.topologies, group.witnesses, strict=True):
            landings = _sums(problem, v, group.carriers, t, "land")
            receiving = {d: s for d, s in landings.items() if s.upper > 0}
            if not receiving:
                continue
            w = _sums(problem, v, [c for c in group.matchers if c not in landing], t, "stay")
            for d, s in _sums(
                problem, v, [c for c in group.matchers if c in landing], t, "x"
            ).items():
                w[d].terms += s.terms
                w[d].constant += s.constant
                w[d].upper += s.upper
            _constants(w, witnesses)
            selfs: dict[int, Sum] = {}
            if first_pod:
                exact_stays(model, problem, v, (*group.self_matching, *group.matchers))
                selfs = _sums(problem, v, group.self_matching, t, "land")
                staying = _matchers_staying(problem, v, g)
            firsts: list[cp_model.IntVar] = []
            for d, landed in receiving.items():
                if w[d].constant >= 1:
                    continue
                lands = _indicator(model, landed)
                first = None
                if d in selfs and selfs[d].upper > 0:
                    first = model.new_bool_var("first_pod")
                    model.add(selfs[d].expr() >= 1).only_enforce_if(first)
                    model.add(staying.expr() <= 0).only_enforce_if(first)
                    firsts.append(first)
                literals: list[cp_model.LiteralT] = [] if lands is None else [lands]
                if first is not None:
                    literals.append(~first)
                model.add(w[d].expr() >= 1).only_enforce_if(literals)
            if len(firsts) > 1:
                model.add(cp_model.LinearExpr.sum(firsts) <= 1)


def _matchers_staying(problem: Problem, v: ClassVariables, g: int) -> Sum:
    """Running matching pods of group ``g`` that stay on nodes with one of its keys."""
    group = problem.affinity[g]
    keyed = [problem.topologies[t].domain_of for t in group.topologies]
    out = Sum()
    for c in group.matchers:
        for node, _x, stay in _cells(problem, v, c):
            if any(domain_of[node] >= 0 for domain_of in keyed):
                out.add(stay)
    return out


def _indicator(model: cp_model.CpModel, landed: Sum) -> cp_model.IntVar | None:
    """A literal true when ``landed`` is positive (None: it is a positive constant)."""
    if not landed.varies:
        return None
    lands = model.new_bool_var("lands")
    model.add(landed.expr() <= 0).only_enforce_if(~lands)
    return lands


def _implies_landing(
    model: cp_model.CpModel, landed: Sum, rule: cp_model.BoundedLinearExpression | bool
) -> None:
    """``rule`` whenever ``landed`` is positive."""
    lands = _indicator(model, landed)
    constraint = model.add(rule)
    if lands is not None:
        constraint.only_enforce_if(lands)


def add_never_preemption(model: cp_model.CpModel, problem: Problem, v: ClassVariables) -> None:
    """A plan where a ``preemptionPolicy: Never`` pod of priority q lands evicts no pod of lower
    priority without a new home (conservative; ``DefaultPreemption.PodEligibleToPreemptOthers``)."""
    never: dict[int, list[int]] = defaultdict(list)
    for cls in problem.classes:
        if not cls.preempts:
            never[cls.priority].append(cls.index)
    for priority, classes in never.items():
        landed = Sum()
        for c in classes:
            for _node, x, stay in _cells(problem, v, c):
                landed.add(x)
                landed.add(stay, -1)
        evicted = Sum()
        for cls in problem.classes:
            if cls.priority < priority and cls.running_count:
                evicted.add(v.evicted[cls.index])
        if landed.upper <= 0 or evicted.upper <= 0:
            continue
        _implies_landing(model, landed, evicted.expr() <= 0)
