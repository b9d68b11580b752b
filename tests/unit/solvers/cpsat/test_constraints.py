"""Each constraint of the CP-SAT model alone, on a tiny model: what it allows and forbids."""

from __future__ import annotations

from ortools.sat.python import cp_model

from scheduler_ext.model.assignment import current_assignment
from scheduler_ext.solvers.cpsat import constraints
from scheduler_ext.solvers.cpsat.symmetry import symmetric_hint
from scheduler_ext.solvers.cpsat.variables import new_variables
from tests.unit.tiny import ClassSpec, tiny_problem


def _solve(model: cp_model.CpModel) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 5
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    return solver


def test_variables_bounded_by_count_and_room() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 2500, "pods": 10}, {"cpu": 500, "pods": 10}],
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, pending=5)],
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    # Node 0 holds at most 2 pods of 1 CPU; node 1 none, so it gets no variable at all.
    assert set(v.x[0]) == {0}
    assert list(v.x[0][0].proto.domain) == [0, 2]


def test_class_totals_tie_placed_to_x_and_count_evictions() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}],
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 3})],
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    constraints.add_class_totals(model, problem, v)
    model.add(v.x[0][0] == 1)
    model.minimize(v.evicted[0])
    solver = _solve(model)
    assert solver.value(v.placed[0]) == 1
    assert solver.value(v.evicted[0]) == 2  # three running, one placed


def test_stays_never_exceed_what_remains_on_the_node() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}, {"cpu": 4000, "pods": 10}],
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 2})],
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    constraints.add_stays(model, problem, v)
    model.add(v.x[0][0] == 1)
    model.maximize(v.stay[0][0])
    assert _solve(model).value(v.stay[0][0]) == 1


def test_capacity_per_resource_and_pod_count() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 3000, "memory": 10, "pods": 2}],
        classes=[
            ClassSpec(priority=1, demand={"cpu": 1000, "memory": 1}, pending=4),
            ClassSpec(priority=1, demand={"cpu": 500, "memory": 4}, pending=4),
        ],
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    constraints.add_class_totals(model, problem, v)
    constraints.add_capacity(model, problem, v)
    model.maximize(v.placed[0] + v.placed[1])
    solver = _solve(model)
    assert solver.value(v.placed[0]) + solver.value(v.placed[1]) == 2  # the pods limit binds


def test_budget_limits_disturbed_pods_of_covered_classes() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}, {"cpu": 4000, "pods": 10}],
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 3}, budgets=[0])],
        budget_limits=[1],
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    constraints.add_stays(model, problem, v)
    constraints.add_budgets(model, problem, v)
    model.maximize(v.x[0][1])  # push pods to node 1: only one may leave node 0
    model.add(v.x[0][0] + v.x[0][1] == 3)
    solver = _solve(model)
    assert solver.value(v.x[0][1]) == 1


def test_non_binding_budget_adds_nothing() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}],
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 2}, budgets=[0])],
        budget_limits=[5],
    )
    assert constraints.binding_budgets(problem) == {}


def test_max_disruptions_caps_all_classes() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}, {"cpu": 4000, "pods": 10}],
        classes=[
            ClassSpec(priority=1, demand={"cpu": 1000}, running={0: 2}),
            ClassSpec(priority=2, demand={"cpu": 1000}, running={0: 2}),
        ],
        max_disruptions=1,
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    constraints.add_class_totals(model, problem, v)
    constraints.add_stays(model, problem, v)
    constraints.add_max_disruptions(model, problem, v)
    model.maximize(v.x[0][1] + v.x[1][1])
    model.add(v.placed[0] + v.placed[1] == 4)
    assert _solve(model).value(v.x[0][1] + v.x[1][1]) == 1


def test_symmetry_breaking_orders_identical_nodes_and_hint_satisfies_it() -> None:
    problem = tiny_problem(
        nodes=[{"cpu": 4000, "pods": 10}] * 3,
        classes=[ClassSpec(priority=1, demand={"cpu": 1000}, running={2: 3, 1: 1})],
    )
    model = cp_model.CpModel()
    v = new_variables(model, problem)
    groups = constraints.identical_node_groups(problem, v)
    assert groups == [[0, 1, 2]]
    enforce = model.new_bool_var("sym")
    constraints.add_symmetry_breaking(model, problem, v, groups, enforce)
    hint = symmetric_hint(
        problem, current_assignment(problem), groups, constraints.symmetry_weights(problem)
    )
    assert hint.counts()[0] == {0: 3, 1: 1}
    model.add(enforce == 1)
    for node, var in v.x[0].items():
        model.add(var == hint.counts()[0].get(node, 0))
    _solve(model)  # the reordered hint is feasible under the ordering
    model.add(v.x[0][2] == 3)
    solver = cp_model.CpSolver()
    assert solver.solve(model) == cp_model.INFEASIBLE
