"""The staged solve's bookkeeping: a tier left unproven is solved again with the time left, a
result is optimal only once every stage ran, and the disruption stage's lower bound is reported.

Results are judged by the independent checker and the exhaustive search (``testkit``), never by
the model under test.
"""

from __future__ import annotations

from typing import Any

import pytest
from ortools.sat.python import cp_model

from scheduler_ext.solvers.base import StageStatus
from scheduler_ext.solvers.cpsat import solver
from scheduler_ext.solvers.cpsat.solver import solve_cpsat
from testkit.bruteforce import brute_force
from tests.unit.solvers.checked import fragmented, run


def test_a_tier_stopped_without_a_proof_is_solved_again(monkeypatch: pytest.MonkeyPatch) -> None:
    real = solver._Run.solve_stage
    calls: list[str] = []

    def first_tier_gives_up(run: Any, name: str, *args: Any) -> Any:
        calls.append(name)
        if calls.count(name) == 1 and name.startswith("tier"):  # as if its time ran out
            return StageStatus.UNKNOWN, None, cp_model.CpSolver()
        return real(run, name, *args)

    monkeypatch.setattr(solver._Run, "solve_stage", first_tier_gives_up)
    done = run(solve_cpsat, fragmented(3))
    high = f"tier {max(done.problem.priorities)}"
    assert calls.count(high) == 2  # again, with the time the first pass left
    assert done.result.optimal
    assert done.objective() == brute_force(done.cluster, max_free_pods=10).objective


def test_nothing_is_optimal_before_the_last_stage() -> None:
    done = run(solve_cpsat, fragmented(3))
    assert done.result.optimal
    assert not any(r.optimal for r in done.reported[:-1])


def test_the_disruption_bound_is_the_optimum_once_proven() -> None:
    done = run(solve_cpsat, fragmented(3))
    best = brute_force(done.cluster, max_free_pods=10).objective
    assert done.result.optimal
    assert done.result.disruption_bound == -best[-2] == 1


def test_a_released_fix_no_longer_binds() -> None:
    done = run(solve_cpsat, fragmented(3))
    state = solver._Run(done.problem, done.incumbent, 0.0, 1, None)
    high = max(done.problem.priorities)
    state.fix(high, state.vars.tier_count(done.problem, high) >= 2, proven=False)  # impossible
    state.release([high])
    state.model.maximize(state.vars.tier_count(done.problem, high))
    check = cp_model.CpSolver()
    check.parameters.num_workers = 1
    assert check.solve(state.model) == cp_model.OPTIMAL
    assert round(check.objective_value) == 1
