"""Where ``--solver auto`` runs the colony: before CP-SAT where the whole model is built (its child
beside CP-SAT took a core of CP-SAT's 1 s window on 2 cores), beside it elsewhere."""

from __future__ import annotations

import time

import pytest

from scheduler_ext.model.assignment import evaluate
from scheduler_ext.model.problem import build_problem
from scheduler_ext.planning import portfolio
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.isolation import SolveJob, SolverWorker
from tests.unit.planning.test_portfolio import _Recording, equal_priority_holes
from tests.unit.solvers.checked import judged


class _Timed(portfolio.FallbackChild):
    """The real colony child, remembering when its job began and when its result was in."""

    began = returned = 0.0

    def start(self, job: SolveJob) -> None:
        self.began = time.monotonic()
        super().start(job)

    def wait(self) -> tuple[SolveResult | None, str]:
        outcome = super().wait()
        self.returned = time.monotonic()
        return outcome


def _colony(result: SolveResult) -> bool:
    return "aco" in {s.name for s in result.stages}


def _run(
    monkeypatch: pytest.MonkeyPatch, large: bool, seconds: float
) -> tuple[_Recording, list[tuple[int, SolveJob, float]], _Timed]:
    """The portfolio with its real children on 12 equal-priority holes (greedy places none of
    the big pods; the colony's moves place them); ``large`` makes the problem count as one
    where CP-SAT builds no whole model. Returns the results offered, each CP-SAT job with the
    number of results offered and the time when it began, and the colony's child."""
    if large:
        monkeypatch.setattr(portfolio, "WHOLE_MODEL_LIMIT", 0)
    cluster = equal_priority_holes(12)
    problem = build_problem(cluster)
    best = _Recording(problem)
    best.offer(SolveResult(best.assignment, False, "greedy"))
    searches: list[tuple[int, SolveJob, float]] = []
    begun = time.monotonic()
    with SolverWorker() as worker:

        def search(job: SolveJob) -> tuple[SolveResult | None, str]:
            searches.append((len(best.offered), job, time.monotonic()))
            return worker.run(job)

        first = _Timed(worker.start_method)
        try:
            portfolio.run_portfolio(
                problem,
                best,
                begun + seconds,
                workers=0,
                search=search,
                fallback=portfolio.in_child(worker.start_method),
                first=first,
            )
        finally:
            first.close()
    assert judged(cluster, problem, best.assignment).objective[0] == len(cluster.pods)
    return best, searches, first


@pytest.mark.slow
def test_with_the_whole_model_the_colony_ends_before_cpsat_starts_from_its_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    best, searches, colony_child = _run(monkeypatch, large=False, seconds=8.0)
    assert len(searches) == 1
    before, job, started = searches[0]
    assert 0 < colony_child.returned <= started
    colonies = [r for r in best.offered[:before] if _colony(r)]
    assert colonies, "the colony had not reported when CP-SAT started"
    assert not any(_colony(r) for r in best.offered[before:])  # nothing beside CP-SAT
    problem = job.problem
    colony = max(evaluate(problem, r.assignment).key for r in colonies)
    greedy = evaluate(problem, best.offered[0].assignment).key
    assert colony > greedy  # the colony placed what greedy could not: the test means something
    assert evaluate(problem, job.incumbent).key >= colony  # CP-SAT starts from the colony's plan


@pytest.mark.slow
def test_without_the_whole_model_the_colony_runs_beside_cpsat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    best, searches, colony_child = _run(monkeypatch, large=True, seconds=8.0)
    assert len(searches) == 1
    before, _, started = searches[0]
    assert 0 < colony_child.began <= started < colony_child.returned  # in flight together
    assert not any(_colony(r) for r in best.offered[:before])
