"""The fallback half of ``--solver auto``: the policy's one pass as the colony's first walk."""

from __future__ import annotations

import time

from scheduler_ext.solvers.aco.colony import finish_by
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.portfolio import solve_fallback
from tests.unit.solvers.aco.test_colony import equal_priority_fragmented
from tests.unit.solvers.checked import fragmented, optimum_by_construction, run


def test_the_one_pass_places_what_greedy_cannot_and_is_credited() -> None:
    done = run(solve_fallback, equal_priority_fragmented(), seconds=3.0)
    greedy = solve_greedy(done.problem)
    assert done.objective(greedy.assignment) == done.objective(done.incumbent)
    assert done.objective() == (3, -1, 0)  # checked by the independent checker
    assert done.result.solver in ("rl", "aco")
    assert done.reported  # streamed before the end, as a child must


def test_never_worse_than_its_incumbent_and_at_most_the_optimum() -> None:
    done = run(solve_fallback, fragmented(8), seconds=3.0)
    assert done.objective(done.incumbent) <= done.objective()
    assert done.objective() <= optimum_by_construction(done.cluster)


def test_it_finishes_before_the_deadline_by_its_checking_time() -> None:
    done = run(solve_fallback, fragmented(8), seconds=0.0)
    assert done.result.assignment == done.incumbent
    assert finish_by(done.problem, 10.0) < 10.0
    started = time.monotonic()
    run(solve_fallback, fragmented(40), seconds=1.0)
    assert time.monotonic() - started < 1.0 + 2.0  # a loaded machine: only a gross overrun fails
