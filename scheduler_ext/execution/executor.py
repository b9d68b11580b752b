"""The executor: one plan at a time, stepped in a thread of its own on every change of the state.

The planning loop calls ``submit`` with an improving plan made on a fresh state (and the snapshot
it was made from); the loop makes no new plan while ``busy``. The executor thread steps the plan
(``run.PlanRun``) whenever the watched state changes (at most every ``STEP_INTERVAL_SECONDS``),
and at least every ``poll_seconds`` (so that the settle time and the deadline are seen on a quiet
cluster). ``stop`` aborts a running
plan: its reservations live in this process only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.domain import Cluster
from scheduler_ext.execution.events import Recorder
from scheduler_ext.execution.run import ExecutionClient, PlanRun, RunContext
from scheduler_ext.execution.targets import NotActionable, targets_of
from scheduler_ext.metrics import Metrics
from scheduler_ext.model.movability import EvictionPolicy
from scheduler_ext.planning.history import Phase, PlanDict, PlanJournal

logger = logging.getLogger(__name__)

STEP_INTERVAL_SECONDS = 0.1
"""Shortest time between two steps: a step reads every watched pod (drift), so a busy cluster's
stream of events must not turn into a stream of full scans under the store's lock."""
SETTLE_SECONDS = 1.0
"""Between holding room and the first eviction: a filter answered just before the holds may have
let a pod in, bound (and counted) a moment later."""


class Executor:
    def __init__(
        self,
        store: ClusterStore,
        journal: PlanJournal,
        client: ExecutionClient,
        metrics: Metrics,
        policy: EvictionPolicy,
        *,
        deadline_seconds: float,
        poll_seconds: float,
        event_namespace: str,
        settle_seconds: float = SETTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._journal = journal
        self._poll = poll_seconds
        self._context = RunContext(
            store=store,
            journal=journal,
            client=client,
            recorder=Recorder(client, event_namespace),
            metrics=metrics,
            policy=policy,
            clock=clock,
            deadline_seconds=deadline_seconds,
            settle_seconds=settle_seconds,
        )
        self._lock = threading.Lock()
        self._run: PlanRun | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="plan-executor", daemon=True)

    def busy(self) -> bool:
        with self._lock:
            return self._run is not None

    def submit(self, plan: PlanDict, cluster: Cluster, *, triggered: float) -> bool:
        """Take ``plan`` (kept in the journal) to carry out; False when busy or not actionable
        (then the journal says why)."""
        name = str(plan["metadata"]["name"])
        try:
            targets = targets_of(plan, cluster)
        except NotActionable as exc:
            logger.info("plan %s not executed: %s", name, exc)
            self._journal.set_phase(name, Phase.ABORTED, f"not actionable: {exc}")
            return False
        with self._lock:
            if self._run is not None:
                return False
            self._run = PlanRun(targets, self._context, triggered=triggered)
        logger.info("plan %s: executing", name)
        self._wake.set()
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._lock:
            run, self._run = self._run, None
        if run is not None:
            run.abort("stopped", "the service stopped while the plan ran")

    def _loop(self) -> None:
        seen = -1
        while not self._stop.is_set():
            with self._lock:
                run = self._run
            if run is None:
                self._wake.wait(self._poll)
                self._wake.clear()
                continue
            seen = self._store.generation
            try:
                finished = run.step()
            except Exception as exc:  # a bug must end the plan, never the executor
                logger.exception("plan %s: step failed", run.plan)
                run.abort("error", f"internal error: {exc}")
                finished = True
            if finished:
                with self._lock:
                    self._run = None
                continue
            if self._stop.wait(STEP_INTERVAL_SECONDS):
                break
            self._store.wait_for_change(seen, self._poll)
