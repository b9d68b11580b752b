"""The executor: one plan at a time, stepped in a thread of its own on every change of the state.

The planning loop calls ``submit`` with an improving plan made on a fresh state (and the snapshot
it was made from); the loop makes no new plan while ``busy``. The executor thread steps the plan
(``run.PlanRun``) whenever the watched state changes (at most every ``STEP_INTERVAL_SECONDS``),
and at least every ``poll_seconds`` (so that the settle time and the deadline are seen on a quiet
cluster).

Only while ``may_act`` (the Lease held, the journal synced) does it act. When it starts to, and
before the planning loop may plan (``busy`` until then), it takes over the plans the journal
holds active (``takeover.py``), once the watched state is synced and fresh. When it stops being
allowed to (the Lease lost), it drops the running plan at once without another write: the plan
stays in its phase in the journal for whichever replica leads next, and its room is dropped here.
``stop`` (the service shutting down while it leads) aborts a running plan: its reservations live
in this process only, and nothing says another process will take it over before its deadline.

While it may not act (a follower), it mirrors the room the leader's running plan holds, from the
plan's execution record in the journal, into this replica's store, so that this replica's
filter verb keeps that room too; the mirror ends when the plan ends in the journal, or at its
deadline, or when this replica starts to lead (it then takes the plan over and holds the room
itself).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.domain import Cluster
from scheduler_ext.execution.context import ExecutionClient, RunContext
from scheduler_ext.execution.events import Recorder
from scheduler_ext.execution.run import PlanRun
from scheduler_ext.execution.takeover import running_records, take_over, taken
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
        now: Callable[[], float] = time.time,
        may_act: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        self._may_act = may_act
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
            now=now,
        )
        self._lock = threading.Lock()
        self._run: PlanRun | None = None
        self._taken_over = False
        """Whether the plans left active in the journal were dealt with, in this term."""
        self._mirrored: set[str] = set()
        """The plans (of another replica) whose room this replica's store holds."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="plan-executor", daemon=True)

    def busy(self) -> bool:
        with self._lock:
            return self._run is not None or not self._taken_over

    def mirror(self) -> None:
        """Hold in this store the room of the plans another replica runs (see the module)."""
        now = self._context.now()
        records = {
            name: record
            for name, record in running_records(self._journal.active()).items()
            if record.deadline > now
        }
        for name in sorted(self._mirrored - set(records)):
            self._store.release(name)
            self._mirrored.discard(name)
        for name, record in records.items():
            if name not in self._mirrored:
                found = taken(record.targets, record.known, self._store)
                self._store.reserve(record.targets.reservations(), found)
                self._mirrored.add(name)
                logger.info("plan %s: its room held here too (run by the leader)", name)
        self._context.metrics.reservations.set(len(self._store.reservations()))

    def _unmirror(self) -> None:
        for name in sorted(self._mirrored):
            self._store.release(name)
        self._mirrored.clear()

    def take_over(self) -> None:
        """Resume or abort the plans the journal holds active (``takeover.py``)."""
        self._unmirror()
        run = take_over(self._journal.active(), self._context)
        with self._lock:
            self._run, self._taken_over = run, True
        if run is not None:
            logger.info("plan %s: taken over in %s", run.plan, run.phase)
            self._wake.set()

    def _relinquish(self) -> None:
        """No longer allowed to act: forget the running plan here, write nothing."""
        with self._lock:
            run, self._run = self._run, None
            self._taken_over = False
        if run is not None and not run.finished:
            self._store.release(run.plan)
            self._context.metrics.reservations.set(len(self._store.reservations()))
            logger.warning(
                "plan %s: no longer leading in %s; left to the next leader (room dropped here)",
                run.plan,
                run.phase,
            )

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
        if not self._may_act():
            self._relinquish()
            return
        with self._lock:
            run, self._run = self._run, None
        if run is not None:
            run.abort("stopped", "the service stopped while the plan ran")

    def _loop(self) -> None:
        seen = -1
        while not self._stop.is_set():
            if not self._may_act():
                self._relinquish()
                try:
                    self.mirror()
                except Exception:  # a bug must not end the loop
                    logger.exception("mirroring the leader's held room failed")
                self._wake.wait(self._poll)
                self._wake.clear()
                continue
            if not self._taken_over:
                if not (self._store.synced and self._store.fresh):
                    self._wake.wait(self._poll)  # never take over on a stale state
                    self._wake.clear()
                    continue
                try:
                    self.take_over()
                except Exception:  # a bug must not keep the loop from planning for ever
                    logger.exception("taking over the active plans failed")
                    with self._lock:
                        self._taken_over = True
            with self._lock:
                run = self._run
            if run is None or (not self._store.fresh and not run.overdue):
                # nothing to do, or a stale state: never act on it (but the deadline holds)
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
