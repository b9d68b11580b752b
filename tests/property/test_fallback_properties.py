"""The fallback solvers (ant colony, the policy's one pass) on random small clusters, judged by
the independent checker: every plan is valid, and never lexicographically worse than greedy's or
the current placement.

Two views: the solvers alone (``solve_aco`` / ``solve_rl`` on the built problem, their assignment
realised and judged by ``testkit/checker.py``), and through the planner (``make_plan`` with
``--solver aco|rl``, the whole plan checked with its status, disruption cap included).
Derandomized as the planner's properties are; ``PROPERTY_EXAMPLES`` scales them too.
"""

from __future__ import annotations

import time
from functools import partial

from hypothesis import given, note, settings
from hypothesis import strategies as st

from scheduler_ext.model.assignment import current_assignment
from scheduler_ext.model.problem import build_problem
from scheduler_ext.planning.options import PlanOptions, SolverChoice
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from scheduler_ext.solvers.aco.colony import ColonySettings, solve_aco
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.policy.construct import solve_aco_rl, solve_rl
from testkit.checker import check_plan
from tests.property.strategies import Instance, instances
from tests.property.test_planner_properties import EXAMPLES, PROFILE
from tests.unit.solvers.checked import Solve, judged

QUICK = ColonySettings(ants=4, stall_rounds=8)
PLAN_BUDGET = 20.0
"""Seconds each solver or plan may take. On these small clusters the solvers stop long before
(the colony after its stall rounds). A short budget made the comparison with greedy one of
speed: a stalled machine could spend half of a 1 s budget building the problem, and the
solver's plan then searched nothing while greedy's, made a moment later, did."""
SOLVERS: dict[str, Solve] = {
    "aco": partial(solve_aco, settings=QUICK),
    "rl": solve_rl,
    "aco+rl": partial(solve_aco_rl, settings=QUICK),
}


def _options(instance: Instance, solver: SolverChoice, seconds: float) -> PlanOptions:
    return PlanOptions(
        time_limit_seconds=seconds,
        solver=solver,
        max_disruptions=instance.max_disruptions,
        allow_local_storage=instance.allow_local_storage,
    )


@settings(PROFILE, max_examples=max(10, EXAMPLES // 10))
@given(instances(max_nodes=5, max_pods=12), st.sampled_from(sorted(SOLVERS)))
def test_fallback_assignments_are_valid_and_never_worse_than_greedy(
    instance: Instance, name: str
) -> None:
    cluster = instance.cluster
    options = _options(instance, "greedy", 5.0)
    problem = build_problem(
        cluster, policy=options.eviction_policy(), max_disruptions=instance.max_disruptions
    )
    incumbent = current_assignment(problem)
    result = SOLVERS[name](problem, incumbent, deadline=time.monotonic() + PLAN_BUDGET)
    note(f"cluster: {cluster}\nassignment: {result.assignment}")
    found = judged(cluster, problem, result.assignment).objective
    greedy = judged(cluster, problem, solve_greedy(problem).assignment).objective
    assert found >= greedy >= judged(cluster, problem, incumbent).objective


@settings(PROFILE, max_examples=max(10, EXAMPLES // 15))
@given(instances(max_nodes=5, max_pods=12), st.sampled_from(["aco", "rl"]))
def test_fallback_plans_pass_the_checker(instance: Instance, solver: SolverChoice) -> None:
    plan = plan_to_dict(
        make_plan(instance.cluster, _options(instance, solver, PLAN_BUDGET), isolate=False)
    )
    note(f"cluster: {instance.cluster}\nplan: {plan}")
    result = check_plan(
        instance.cluster,
        plan,
        max_disruptions=instance.max_disruptions,
        allow_local_storage=instance.allow_local_storage,
    )
    greedy = plan_to_dict(
        make_plan(instance.cluster, _options(instance, "greedy", PLAN_BUDGET), isolate=False)
    )
    greedy_result = check_plan(
        instance.cluster,
        greedy,
        max_disruptions=instance.max_disruptions,
        allow_local_storage=instance.allow_local_storage,
    )
    assert result.objective >= greedy_result.objective
