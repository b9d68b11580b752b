"""Run a solver in a child process, keep every improvement it reports, survive its crash or hang.

CP-SAT is native code: an abort inside it (one was seen with ``repair_hint``) kills the whole
process, and a solve does not always stop exactly at its time limit. The child streams each new
incumbent through a pipe as soon as it has one; the parent waits until the deadline plus a small
grace, then kills the child if it is still there. The caller gets the last result received, or
None when the child died before reporting anything; it never sees the crash itself.

``SolverWorker`` starts its child *before* the problem exists, so that importing OR-Tools (about
0.3 s, most of it pandas, which OR-Tools imports) overlaps with reading the snapshot instead of
eating the time budget. The problem then travels through a pipe without its pods (numbers only).
``run_isolated`` forks for one callable, for tests and one-off solves.
"""

from __future__ import annotations

import faulthandler
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # kept out of the import path: the worker must fork before numpy is loaded
    from scheduler_ext.model.assignment import Assignment
    from scheduler_ext.model.problem import Problem
    from scheduler_ext.solvers.base import SolveResult

logger = logging.getLogger(__name__)

ReportingSolve: TypeAlias = "Callable[[Callable[[SolveResult], None]], SolveResult]"
"""A solve that calls its argument with every improvement and returns the final result."""

GRACE_SECONDS = 0.15

METHODS = {
    "cpsat": ("scheduler_ext.solvers.cpsat.solver", "solve_cpsat"),
    "neighbourhood": ("scheduler_ext.solvers.neighbourhood", "solve_neighbourhoods"),
    "auto": ("scheduler_ext.solvers.auto", "solve_auto"),
    "aco": ("scheduler_ext.solvers.aco.colony", "solve_aco_after_greedy"),
    "rl": ("scheduler_ext.solvers.policy.construct", "solve_rl_after_greedy"),
    "fallback": ("scheduler_ext.solvers.portfolio", "solve_fallback"),
    "fallback-again": ("scheduler_ext.solvers.portfolio", "solve_fallback_again"),
}
"""Solvers a worker can run, by name: module and function, imported in the child."""

Connection = multiprocessing.connection.Connection


@dataclass(frozen=True)
class SolveJob:
    method: str
    problem: Problem
    incumbent: Assignment
    deadline: float  # time.monotonic(), the same clock in parent and child on Linux
    workers: int = 0


def _report_to(conn: Connection, solve: ReportingSolve) -> None:
    faulthandler.disable()  # a crash here is reported by the parent, in one line
    try:
        final = solve(lambda result: conn.send(("incumbent", result)))
        conn.send(("done", final))
    except BaseException as exc:  # report anything, then exit: the parent decides what to do
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def _resolve(method: str) -> Callable[..., SolveResult]:
    module, name = METHODS[method]
    function: Callable[..., SolveResult] = getattr(importlib.import_module(module), name)
    return function


def run_job(job: SolveJob, report: Callable[[SolveResult], None] | None) -> SolveResult:
    """Run a job in this process (no isolation): for tests and callers that accept the risk."""
    return _resolve(job.method)(
        job.problem,
        job.incumbent,
        deadline=job.deadline,
        workers=job.workers,
        on_incumbent=report,
    )


def _serve(jobs: Connection, results: Connection, warm: tuple[str, ...]) -> None:
    """The worker's child: import the solvers now, then run the one job it is sent."""
    for method in warm:
        _resolve(method)
    try:
        job: SolveJob = jobs.recv()
    except EOFError:  # the parent did not need us after all
        return

    _report_to(results, lambda report: run_job(job, report))


def _collect(receiver: Connection, process: Any, deadline: float) -> tuple[SolveResult | None, str]:
    best: SolveResult | None = None
    outcome = "killed at deadline"
    try:
        while True:
            wait = deadline + GRACE_SECONDS - time.monotonic()
            if wait <= 0 or not receiver.poll(wait):
                break
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError):
                process.join(1.0)
                outcome = f"crashed (exit code {process.exitcode})"
                logger.warning("solver child %s", outcome)
                break
            if kind == "error":
                outcome = "failed: " + str(payload).splitlines()[0]
                logger.warning("solver child failed: %s", payload)
                break
            best = payload
            if kind == "done":
                outcome = "done"
                break
    finally:
        _kill(process)
        receiver.close()
    return best, outcome


def _kill(process: Any) -> None:
    """Kill the child and go on without waiting for it to be gone: under load its exit took up to
    0.1 s of the caller's budget. ``multiprocessing`` reaps it later (``active_children``, the next
    ``start``)."""
    if process.is_alive():
        process.kill()
    process.join(0)


def run_isolated(
    solve: ReportingSolve, *, deadline: float, start_method: str = "fork"
) -> tuple[SolveResult | None, str]:
    """Returns the best result the child reported and how the child ended."""
    context: Any = multiprocessing.get_context(start_method)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_report_to, args=(sender, solve), daemon=True)
    process.start()
    sender.close()
    return _collect(receiver, process, deadline)


class SolverWorker:
    """A child process warming up the solvers until it is given one job."""

    def __init__(self, start_method: str = "fork", warm: tuple[str, ...] = tuple(METHODS)) -> None:
        """``warm``: the methods whose modules the child imports before its job comes."""
        self.start_method = start_method
        context: Any = multiprocessing.get_context(start_method)
        job_receiver, self._jobs = context.Pipe(duplex=False)
        self._results, result_sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(job_receiver, result_sender, warm), daemon=True
        )
        self._process.start()
        job_receiver.close()
        result_sender.close()
        self._used = False

    @property
    def pid(self) -> int | None:
        return self._process.pid  # type: ignore[no-any-return]

    @property
    def running(self) -> bool:
        """The job was sent and the child is still there."""
        return self._used and self._process.is_alive()

    def run(self, job: SolveJob) -> tuple[SolveResult | None, str]:
        if self._used:
            raise RuntimeError("a SolverWorker runs one job")
        self._used = True
        try:
            self._jobs.send(job)
        except (BrokenPipeError, OSError):
            self.close()
            return None, f"crashed before the job (exit code {self._process.exitcode})"
        finally:
            self._jobs.close()
        return _collect(self._results, self._process, job.deadline)

    def kill(self) -> None:
        """Stop the child now; a ``run`` waiting on it returns what it had reported."""
        if self._process.is_alive():
            self._process.kill()

    def close(self) -> None:
        """Stop the child if it is still there (the job was never sent, or it overran)."""
        if not self._jobs.closed:
            self._jobs.close()
        _kill(self._process)
        if not self._results.closed:
            self._results.close()

    def __enter__(self) -> SolverWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
