"""A solver that crashes, hangs or raises in its child process never takes the caller down."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from scheduler_ext.model.assignment import Assignment
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.isolation import run_isolated

pytestmark = pytest.mark.slow  # every test runs a child process

FIRST = SolveResult(assignment=Assignment((((0, 1),),)), optimal=False, solver="test")
FINAL = SolveResult(assignment=Assignment((((0, 2),),)), optimal=True, solver="test")

Report = Callable[[SolveResult], None]


def _finishes(report: Report) -> SolveResult:
    report(FIRST)
    return FINAL


def _aborts(report: Report) -> SolveResult:
    report(FIRST)
    time.sleep(0.05)
    os.abort()  # what a failed CHECK inside native code does


CHILD_SECONDS = 60.0
"""A child's deadline where it should finish first: it starts in well under a second, but a
loaded machine can take seconds to start a process."""
HANG_DEADLINE = 5.0
"""Long enough for the hanging child to start and report on a loaded machine; far short of its
60 s sleep, so only the kill ends it in time."""


def _hangs(report: Report) -> SolveResult:
    report(FIRST)
    time.sleep(60)
    return FINAL


def _raises(report: Report) -> SolveResult:
    raise RuntimeError("model invalid")


def test_final_result_is_returned() -> None:
    result, outcome = run_isolated(_finishes, deadline=time.monotonic() + CHILD_SECONDS)
    assert (result, outcome) == (FINAL, "done")


def test_abort_keeps_the_last_incumbent() -> None:
    result, outcome = run_isolated(_aborts, deadline=time.monotonic() + CHILD_SECONDS)
    assert result == FIRST
    assert outcome.startswith("crashed")


def test_hang_is_killed_at_the_deadline() -> None:
    started = time.monotonic()
    result, outcome = run_isolated(_hangs, deadline=started + HANG_DEADLINE)
    assert result == FIRST
    assert outcome == "killed at deadline"
    assert time.monotonic() - started < HANG_DEADLINE + 10  # the child would sleep 60 s


def test_exception_is_reported_not_raised() -> None:
    result, outcome = run_isolated(_raises, deadline=time.monotonic() + CHILD_SECONDS)
    assert result is None
    assert outcome == "failed: RuntimeError: model invalid"
