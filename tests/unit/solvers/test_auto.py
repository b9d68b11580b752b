"""``--solver auto`` on tiny clusters: CP-SAT alone where a neighbourhood would be the whole
cluster, neighbourhoods then the whole model beyond, neighbourhoods alone past the size limit;
every result a valid plan between its incumbent and the optimum."""

from __future__ import annotations

import pytest

from scheduler_ext.solvers import auto
from scheduler_ext.solvers.auto import solve_auto
from scheduler_ext.solvers.base import StageStatus
from scheduler_ext.solvers.neighbourhood import SOLVER
from testkit.bruteforce import brute_force
from tests.unit.solvers.checked import fragmented, optimum_by_construction, run

NODES = auto.WHOLE_ONLY_NODES + 1


def test_a_cluster_no_larger_than_a_neighbourhood_gets_the_whole_model_and_its_proof() -> None:
    done = run(solve_auto, fragmented(3))
    assert done.result.optimal
    assert done.result.solver == "cpsat"
    assert done.objective(done.incumbent) <= done.objective()
    assert done.objective() == brute_force(done.cluster, max_free_pods=10).objective
    assert "neighbourhoods" not in {stage.name for stage in done.result.stages}


def test_neighbourhoods_first_then_the_whole_model() -> None:
    done = run(solve_auto, fragmented(NODES))
    best = optimum_by_construction(done.cluster)
    assert done.objective(done.incumbent) <= done.objective() == best
    names = [stage.name for stage in done.result.stages]
    assert names[0] == "neighbourhoods"
    assert len(names) > 1  # the whole model ran after them, from their result
    if done.result.optimal:  # proven by the whole model: credited to it
        assert done.result.solver == "cpsat"
        assert done.result.stages[-1].status == StageStatus.OPTIMAL
    objectives = [done.objective(r.assignment) for r in done.reported]
    assert all(done.objective(done.incumbent) <= o <= best for o in objectives)


def test_past_the_size_limit_only_neighbourhoods_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "MAX_WHOLE_VARIABLES", 0)
    done = run(solve_auto, fragmented(NODES))
    assert [stage.name for stage in done.result.stages] == ["neighbourhoods"]
    assert (done.result.solver, done.result.optimal) == (SOLVER, False)
    assert (
        done.objective(done.incumbent)
        <= done.objective()
        <= (optimum_by_construction(done.cluster))
    )


def test_a_budget_of_zero_is_kept_by_both_stages() -> None:
    done = run(solve_auto, fragmented(NODES, budget=0), seconds=3.0)
    assert done.objective() == done.objective(done.incumbent)


def test_a_small_whole_model_runs_alone_when_little_time_is_left() -> None:
    done = run(solve_auto, fragmented(NODES), seconds=auto.SHORT_SECONDS / 2)
    assert "neighbourhoods" not in {stage.name for stage in done.result.stages}
    assert (
        done.objective(done.incumbent) <= done.objective() <= optimum_by_construction(done.cluster)
    )
