"""Run a solver in a child process, keep every improvement it reports, survive its crash or hang.

CP-SAT is native code: an abort inside it (one was seen with ``repair_hint``) kills the whole
process, and a solve does not always stop exactly at its time limit. The child streams each new
incumbent through a pipe as soon as it has one; the parent waits until the deadline plus a small
grace, then kills the child if it is still there. The caller gets the last result received, or
None when the child died before reporting anything; it never sees the crash itself.

With the ``fork`` start method the child inherits the already imported solver and the problem, so
it starts in milliseconds; a threaded service should pass ``forkserver`` instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import time
import traceback
from collections.abc import Callable
from typing import Any

from scheduler_ext.solvers.base import SolveResult

logger = logging.getLogger(__name__)

ReportingSolve = Callable[[Callable[[SolveResult], None]], SolveResult]
"""A solve that calls its argument with every improvement and returns the final result."""

GRACE_SECONDS = 0.15


def _child(solve: ReportingSolve, conn: multiprocessing.connection.Connection) -> None:
    try:
        final = solve(lambda result: conn.send(("incumbent", result)))
        conn.send(("done", final))
    except BaseException as exc:  # report anything, then exit: the parent decides what to do
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def run_isolated(
    solve: ReportingSolve, *, deadline: float, start_method: str = "fork"
) -> tuple[SolveResult | None, str]:
    """Returns the best result the child reported and how the child ended."""
    context: Any = multiprocessing.get_context(start_method)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(solve, sender), daemon=True)
    process.start()
    sender.close()
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
                outcome = f"crashed (exit code {process.exitcode})"
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
        if process.is_alive():
            process.kill()
        process.join(1.0)
        receiver.close()
    if outcome.startswith("crashed"):
        process.join(1.0)
        outcome = f"crashed (exit code {process.exitcode})"
        logger.warning("solver child %s", outcome)
    return best, outcome
