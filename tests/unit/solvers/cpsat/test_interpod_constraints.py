"""Each inter-pod constraint function of the CP-SAT model alone, on a tiny hand-built model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ortools.sat.python import cp_model

from scheduler_ext.model.problem import (
    AffinityGroup,
    AntiAffinityGroup,
    Problem,
    SpreadGroup,
    Topology,
)
from scheduler_ext.solvers.cpsat import constraints, interpod
from scheduler_ext.solvers.cpsat.variables import ClassVariables, new_variables
from tests.unit.tiny import ClassSpec, tiny_problem

AddRule = Callable[[cp_model.CpModel, Problem, ClassVariables], None]
NODE = {"cpu": 4000, "pods": 10}
HOSTS = Topology("kubernetes.io/hostname", (0, 1, 2, 3), ("n0", "n1", "n2", "n3"))
ZONES = Topology("zone", (0, 0, 1, 1), ("a", "b"))
"""Four nodes, two per zone."""


def best(
    problem: Problem, rule: AddRule | None, objective: Callable[[ClassVariables], object]
) -> tuple[int, list[dict[int, int]]]:
    """Maximise ``objective`` under the basic constraints and ``rule``; (value, counts)."""
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    constraints.add_class_totals(model, problem, v)
    constraints.add_stays(model, problem, v)
    constraints.add_capacity(model, problem, v)
    if rule is not None:
        rule(model, problem, v)
    model.maximize(objective(v))  # type: ignore[arg-type]
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    return round(solver.objective_value), v.extract(solver).counts()


def placed(c: int) -> Callable[[ClassVariables], object]:
    return lambda v: v.placed[c]


def test_self_anti_affinity_keeps_one_pod_per_domain() -> None:
    problem = tiny_problem([NODE] * 4, [ClassSpec(priority=1, demand={"cpu": 100}, pending=6)])
    group = AntiAffinityGroup(topology=0, carriers=(0,), matchers=(0,), fixed=(), closed=())
    problem = replace(problem, topologies=(ZONES,), anti_affinity=(group,))
    assert best(problem, None, placed(0))[0] == 6
    value, counts = best(problem, interpod.add_anti_affinity, placed(0))
    assert value == 2  # one per zone
    assert sorted(n // 2 for n in counts[0]) == [0, 1]


def test_a_carrier_and_a_pod_it_selects_never_share_a_domain() -> None:
    problem = tiny_problem(
        [NODE] * 4,
        [
            ClassSpec(priority=1, demand={"cpu": 100}, pending=3),  # carries, does not match
            ClassSpec(priority=1, demand={"cpu": 100}, pending=3),  # matches
        ],
    )
    # An immovable matching pod in zone a: carriers may only use zone b.
    group = AntiAffinityGroup(0, carriers=(0,), matchers=(1,), fixed=((0, 0, 1, 0),), closed=())
    problem = replace(problem, topologies=(ZONES,), anti_affinity=(group,))
    value, counts = best(
        problem, interpod.add_anti_affinity, lambda v: 2 * v.placed[0] + v.placed[1]
    )
    assert value == 2 * 3 + 3  # carriers all in zone b, matchers in zone a
    assert {n // 2 for n in counts[0]} == {1}
    assert {n // 2 for n in counts[1]} == {0}


def test_a_domain_broken_before_the_plan_is_not_constrained() -> None:
    problem = tiny_problem([NODE] * 4, [ClassSpec(priority=1, demand={"cpu": 100}, running={0: 2})])
    group = AntiAffinityGroup(0, carriers=(0,), matchers=(0,), fixed=(), closed=(0,))
    problem = replace(problem, topologies=(ZONES,), anti_affinity=(group,))
    # The two running pods may stay together in closed zone a (eligibility keeps newcomers out).
    value, _ = best(problem, interpod.add_anti_affinity, lambda v: v.stay[0][0])
    assert value == 2


def _spread(problem: Problem, **fields: Any) -> Problem:
    group = SpreadGroup(
        topology=0,
        max_skew=1,
        min_domains=1,
        counted=(0, 1, 2, 3),
        domains=(0, 1),
        carriers=(0,),
        matchers=(0,),
        fixed=((0, 2),),  # zone a already holds two immovable matching pods
    )
    return replace(problem, topologies=(ZONES,), spread=(replace(group, **fields),))


def test_spread_keeps_every_receiving_domain_within_max_skew_of_the_smallest() -> None:
    small = {"cpu": 100, "pods": 10}
    cls = ClassSpec(priority=1, demand={"cpu": 100}, pending=6)
    problem = _spread(tiny_problem([NODE, NODE, small, small], [cls]))
    value, counts = best(problem, interpod.add_spread, placed(0))
    # Zone b holds two at most, so zone a (at 2 already) may reach 3: three placed.
    assert value == 3
    assert sum(k for n, k in counts[0].items() if n < 2) == 1
    unconstrained = _spread(tiny_problem([NODE] * 4, [cls]))
    assert best(unconstrained, interpod.add_spread, placed(0))[0] == 6  # 4 and 4


def test_min_domains_above_the_domains_makes_the_minimum_zero() -> None:
    problem = _spread(
        tiny_problem([NODE] * 4, [ClassSpec(priority=1, demand={"cpu": 100}, pending=6)]),
        min_domains=3,
        fixed=(),
    )
    assert best(problem, interpod.add_spread, placed(0))[0] == 2  # one per zone


def test_spread_carriers_that_do_not_match_count_nothing_but_need_the_skew() -> None:
    problem = tiny_problem([NODE] * 4, [ClassSpec(priority=1, demand={"cpu": 100}, pending=2)])
    # Zone a counts 3 immovable matching pods, b none; the carriers do not match themselves.
    problem = _spread(problem, matchers=(), fixed=((0, 3),))
    value, counts = best(problem, interpod.add_spread, placed(0))
    assert value == 2
    assert {n // 2 for n in counts[0]} == {1}


def _affinity(problem: Problem, **fields: Any) -> Problem:
    group = AffinityGroup(
        topologies=(0,),
        carriers=(0,),
        self_matching=(),
        matchers=(),
        witnesses=(((1, 1),),),  # an immovable witness in zone b
        bootstrap=False,
    )
    return replace(problem, topologies=(ZONES,), affinity=(replace(group, **fields),))


def test_affinity_carriers_land_only_where_a_witness_is() -> None:
    problem = _affinity(
        tiny_problem([NODE] * 4, [ClassSpec(priority=1, demand={"cpu": 100}, pending=4)])
    )
    value, counts = best(problem, interpod.add_affinity, placed(0))
    assert value == 4
    assert {n // 2 for n in counts[0]} == {1}
    none = replace(problem, affinity=(replace(problem.affinity[0], witnesses=((),)),))
    assert best(none, interpod.add_affinity, placed(0))[0] == 0


def test_the_first_pods_of_a_self_matching_group_share_one_domain() -> None:
    problem = _affinity(
        tiny_problem(
            [{"cpu": 200, "pods": 10}] * 4, [ClassSpec(priority=1, demand={"cpu": 100}, pending=8)]
        ),
        self_matching=(0,),
        matchers=(0,),
        witnesses=((),),
        bootstrap=True,
    )
    value, counts = best(problem, interpod.add_affinity, placed(0))
    assert value == 4
    assert len({n // 2 for n in counts[0]}) == 1


def test_a_never_pod_lands_only_without_evicting_lower_priority_pods() -> None:
    problem = tiny_problem(
        [{"cpu": 1000, "pods": 10}],
        [
            ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 1}),
            ClassSpec(priority=9, demand={"cpu": 1000}, pending=1),
        ],
    )
    never = replace(
        problem, classes=(problem.classes[0], replace(problem.classes[1], preempts=False))
    )
    assert best(problem, interpod.add_never_preemption, placed(1))[0] == 1  # it may preempt
    assert best(never, interpod.add_never_preemption, placed(1))[0] == 0


def test_never_allows_moves() -> None:
    problem = tiny_problem(
        [{"cpu": 1000, "pods": 10}] * 2,
        [
            ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 1}),
            ClassSpec(priority=9, demand={"cpu": 1000}, pending=1, eligible=(0,)),
        ],
    )
    problem = replace(
        problem, classes=(problem.classes[0], replace(problem.classes[1], preempts=False))
    )
    value, counts = best(
        problem, interpod.add_never_preemption, lambda v: 2 * v.placed[1] + v.placed[0]
    )
    assert value == 3
    assert counts == [{1: 1}, {0: 1}]


def test_the_necessary_spread_rule_matches_the_rule_where_every_pod_carries_it() -> None:
    small = {"cpu": 100, "pods": 10}
    cls = ClassSpec(priority=1, demand={"cpu": 100}, pending=6)
    for necessary_only in (False, True):
        problem = _spread(tiny_problem([NODE, NODE, small, small], [cls]))
        group = replace(problem.spread[0], necessary_only=necessary_only)
        problem = replace(problem, spread=(group,))
        assert best(problem, interpod.add_spread, placed(0))[0] == 3


def test_the_necessary_spread_rule_counts_late_pods_in_the_minimum_only() -> None:
    # Zone a: carriers land; zone b: 1 running pod that matches without carrying, and room for
    # 2 more of them. The rule a plan must keep lets zone a reach at most 1 above b's final count.
    problem = tiny_problem(
        [NODE, NODE, NODE, NODE],
        [
            ClassSpec(priority=1, demand={"cpu": 100}, pending=5, eligible=(0, 1)),
            ClassSpec(priority=1, demand={"cpu": 100}, pending=2, running={2: 1}, eligible=(2,)),
        ],
    )
    problem = _spread(problem, carriers=(0,), matchers=(0, 1), fixed=(), necessary_only=True)
    assert best(problem, interpod.add_spread, placed(0))[0] == 4  # b ends at 3: a may hold 4
