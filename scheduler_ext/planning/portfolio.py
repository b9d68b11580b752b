"""``--solver auto`` as a portfolio: the policy's one pass, the ant colony and CP-SAT.

No solver wins everywhere (docs/benchmarks.md, "Issue 16, session 6"): CP-SAT proves small
instances and its neighbourhoods polish large ones, while the one pass and the colony place pods
of the lowest tiers that need equal-priority pods moved, which greedy never does and the
neighbourhoods seldom find, and they are the search left when CP-SAT crashes, fails or hangs.
After greedy:

1. the policy's one pass, in this process (about one greedy pass; a child's start-up and the
   problem's trip through a pipe cost more than the pass at 1 s budgets);
2. ``solve_auto`` (CP-SAT and neighbourhoods, as before) in its child until the deadline, from
   the best plan so far, and the colony in another child (``FallbackChild``, started during
   the one pass): where CP-SAT builds the whole model, before it on a share of the time
   (``WHOLE_COLONY``: beside it, the colony took a core of CP-SAT's 1 s window on 2 cores),
   elsewhere alongside it (``ALONGSIDE``);
3. if time is left when CP-SAT ends without a proof (crashed, failed, returned early), a
   second colony from the best plan.

Every result goes through the caller's ``offer``, which keeps the best valid plan; a child that
dies loses only what it had not reported, so a CP-SAT crash leaves at least the fallbacks'.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.aco.colony import finish_by
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.isolation import SolveJob, SolverWorker, run_job
from scheduler_ext.solvers.policy.construct import solve_rl

logger = logging.getLogger(__name__)

# Each solver here won somewhere in docs/benchmarks.md ("Issue 16, session 6"), or it would not
# be here: the one pass placed the batch-low pods nobody else did at 100 nodes and gave auto its
# +73 at 5,000 x 30 s; the colony reached the best placed counts on 12 of 16 paper instances and
# +83 batch-low at 5,000 x 30 s; CP-SAT was best alone on 6 of the 8 smallest paper instances.
# The colony with the policy as its heuristic (aco+rl) won nowhere the plain colony did not.
FALLBACK_SHARE_LARGE = 0.5
"""Of the time left, the fallback's where the whole model is not built (neighbourhoods only)."""
FALLBACK_SHARE_WHOLE = 0.4
"""Of the time left, the fallback's where CP-SAT builds the whole model."""
MIN_STAGE_SECONDS = 0.3
"""A stage with less time than this is not started (a child and its state cost about that)."""
HINT_FROM_FALLBACK = True
"""In turns, CP-SAT starts from the best plan so far (the fallback's when it won) rather than
greedy's."""
ALONGSIDE = True
"""Child processes run the fallback and CP-SAT at the same time rather than in turns (where the
whole model is not built; ``WHOLE_COLONY`` decides elsewhere)."""
# "before" (docs/benchmarks.md, "Issue 16, session 7"): paper grid K=4, 61 failing instances,
# warm, load 3-6. At 1 s it placed more than "alongside" on 19, fewer on none (priority-1 pods
# gained +180 vs +142; = reference 18 vs 14 of 22); "after" 15 and 2. At 10 s: 4 more, 1 fewer
# (by 2 pods), one proof fewer (28 vs 29), = reference 22 of 22 both. K=2 at 1 s: placed more
# on 18, fewer on 12 (two runs), but neither better nor proven on 3 of 94 plans ("alongside" 0).
WHOLE_COLONY: Literal["alongside", "before", "after"] = "before"
"""Where CP-SAT builds the whole model: the colony beside CP-SAT, before it on
``FALLBACK_SHARE_WHOLE`` of the time, or only after CP-SAT ends early without a proof."""

FALLBACK_METHODS = ("fallback", "fallback-again")


class Incumbents(Protocol):
    """The planner's best plan so far: replaced only by a valid, lexicographically better one."""

    assignment: Assignment
    optimal: bool

    def offer(self, result: SolveResult) -> None: ...


Runner = Callable[[SolveJob], tuple[SolveResult | None, str]]


WHOLE_MODEL_LIMIT = 20_000
"""``solvers.auto.MAX_WHOLE_VARIABLES``, not imported from there: that module imports OR-Tools
(seconds on a loaded machine, with pandas), which the planner's process never needs (a test
keeps the two equal)."""


def fallback_share(problem: Problem) -> float:
    """Of the time after greedy, the most the one pass (and, in turns, the colony) may take.

    Never 0: the colony beat CP-SAT at 1 s on 2 of the paper's 8-node instances (a loaded
    machine), and run before CP-SAT it hands CP-SAT a better start (``WHOLE_COLONY``)."""
    return FALLBACK_SHARE_LARGE if _large(problem) else FALLBACK_SHARE_WHOLE


def _large(problem: Problem) -> bool:
    return sum(len(cls.domain()) for cls in problem.classes) > WHOLE_MODEL_LIMIT


def _one_pass_until(problem: Problem, until: float, deadline: float) -> float:
    """The deadline to give the one pass for it to stop by ``until``.

    It keeps back the colony's finishing time (``colony.finish_by``: 0.3 s and more, for a
    child killed at its deadline), which at 1 s left it 0.01-0.07 s: on 6 of the 8 misses of
    32 x 8 dev seeds 2-3 (neither better nor proven, load 13) it ran out of time building its
    state, while it was what placed more on most of the others (docs/benchmarks.md, "Issue 15,
    session 8"). In this process nothing kills it; where the whole model is built (the check
    then costs milliseconds) that time is given back. On large clusters the check itself takes
    the reserve (about 1 s at 140,000 pods), so there it stays."""
    if _large(problem):
        return until
    return min(deadline, until + (until - finish_by(problem, until)))


def in_process(job: SolveJob) -> tuple[SolveResult | None, str]:
    return run_job(job, None), "done"


def in_child(start_method: str) -> Runner:
    """A fresh child per job, importing only the fallback's modules before its job comes."""

    def run(job: SolveJob) -> tuple[SolveResult | None, str]:
        with SolverWorker(start_method, warm=FALLBACK_METHODS) as worker:
            return worker.run(job)

    return run


class FallbackChild:
    """The colony's child, started before its job is known so that its start-up (a process,
    imports) overlaps with the one pass; it runs its one job alongside CP-SAT (``start``,
    ``wait``) or before it (``run``)."""

    def __init__(self, start_method: str) -> None:
        self._worker = SolverWorker(start_method, warm=FALLBACK_METHODS)
        self._thread: threading.Thread | None = None
        self._outcome: tuple[SolveResult | None, str] = (None, "not run")

    def start(self, job: SolveJob) -> None:
        def run() -> None:
            self._outcome = self._worker.run(job)

        self._thread = threading.Thread(target=run, name="fallback-collector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._worker.kill()

    def wait(self) -> tuple[SolveResult | None, str]:
        if self._thread is not None:
            self._thread.join()
        return self._outcome

    def run(self, job: SolveJob) -> tuple[SolveResult | None, str]:
        self.start(job)
        return self.wait()

    def close(self) -> None:
        self._worker.close()


def run_portfolio(
    problem: Problem,
    best: Incumbents,
    deadline: float,
    *,
    workers: int,
    search: Runner,
    fallback: Runner,
    first: FallbackChild | None = None,
) -> str:
    """Run the stages (the first fallback in ``first`` when given, beside CP-SAT, before it or
    after it as ``WHOLE_COLONY`` and ``ALONGSIDE`` say); returns "" or what went wrong with
    CP-SAT, for the plan's message."""
    numbers = problem.for_solver()
    greedy = best.assignment

    def stage(method: str, runner: Runner, start: Assignment, until: float) -> str:
        job = SolveJob(method, numbers, start, until, workers)
        result, outcome = runner(job)
        if result is not None:
            best.offer(result)
        logger.debug("auto: %s %s", method, outcome)
        return outcome

    placement = ("alongside" if ALONGSIDE else "before") if _large(problem) else WHOLE_COLONY
    share = fallback_share(problem)
    now = time.monotonic()
    if share and (deadline - now) * share >= MIN_STAGE_SECONDS:
        # The policy's one pass, here: about one greedy pass, no child to start or feed.
        until = _one_pass_until(problem, now + (deadline - now) * share, deadline)
        one_pass = solve_rl(problem, best.assignment, deadline=until, with_greedy=False)
        best.offer(one_pass)
        now = time.monotonic()
    start = best.assignment
    alongside = placement == "alongside" and first is not None
    if share and alongside and first is not None and deadline - now >= MIN_STAGE_SECONDS:
        first.start(SolveJob("fallback", numbers, start, deadline, workers))
        outcome = stage("auto", search, start if HINT_FROM_FALLBACK else greedy, deadline)
        if best.optimal:
            first.stop()  # nothing can beat a proven optimum
        result, fallen = first.wait()
        logger.debug("auto: fallback alongside %s", fallen)
        if result is not None:
            best.offer(result)
    else:
        if share and placement != "after" and (deadline - now) * share >= MIN_STAGE_SECONDS:
            until = now + (deadline - now) * share
            stage("fallback", first.run if first else fallback, start, until)
            first = None  # its one job is done
        hint = best.assignment if HINT_FROM_FALLBACK else greedy
        outcome = stage("auto", search, hint, deadline)
    if not best.optimal and deadline - time.monotonic() >= MIN_STAGE_SECONDS:
        again = first.run if first is not None and not alongside else fallback
        stage("fallback-again", again, best.assignment, deadline)
    return "" if outcome == "done" else f"search {outcome}"
