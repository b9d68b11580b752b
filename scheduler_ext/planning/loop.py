"""The planning loop: pods kube-scheduler gave up on start a planning round, off the request path.

kube-scheduler never calls an extender's filter when no node passes its own filters, and calls
preempt only when its own dry run found victims, so the pods this service exists for are found by
watching: a pod with ``PodScheduled=False, reason Unschedulable``. When one appears, the loop waits
``debounce_seconds`` (pods of one Deployment arrive together and should be planned together),
checks that some pod is still unschedulable, and plans once on a snapshot of the store. It plans
again only when the store's generation has moved since the last round (a node, pod, budget or
class changed in a way the planner reads), so a stable cluster with a pod that cannot be placed
costs one round, not one per second.

Each round runs ``make_plan`` with the service's planning options (``time_limit_seconds`` and the
rest, ``planning/options.py``); the solver runs in a fresh child process (``SolverWorker``) started
with forkserver or spawn, never fork (this process has threads), so a crash or a hang of the solver
costs that round's improvements, never the service. The plan is kept in the journal for the
plans API, logged in one line and counted. In dry-run mode nothing more happens; in enforce mode an
improving plan made on a fresh state is handed to the ``PlanHandler`` (the executor,
``scheduler_ext/execution/``), and no new round starts while it carries a plan out.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Protocol

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.domain import Cluster, PackingPlan
from scheduler_ext.metrics import Metrics
from scheduler_ext.planning.history import PlanDict, PlanJournal
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from scheduler_ext.solvers.base import StageStatus
from scheduler_ext.solvers.isolation import METHODS, SolverWorker

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
SETTLE_SECONDS = 0.2
"""The loop looks at the store at most this often. Every watch event moves the store's generation
(three or more per scheduled pod); waking for each would cost a thread switch and a GIL turn per
event while kube-scheduler waits on filter and prioritize, for pending counts nobody reads more
often than Prometheus scrapes. A round starts at most this much later."""


def _stage_labels(name: str, status: str) -> tuple[str, str]:
    """Bounded label values: "tier 1000" -> "cpsat-tier"; the status as the solver reported it
    (a ``StageStatus``: a value outside it raises rather than growing the label set)."""
    if name.startswith("tier "):
        name = "cpsat-tier"
    elif name == "disruption":
        name = "cpsat-disruption"
    return name, StageStatus(status).value


class PlanHandler(Protocol):
    """Carries plans out (enforce mode): ``scheduler_ext.execution.Executor``."""

    def busy(self) -> bool:
        """A plan is being carried out: no new round until it ends."""

    def submit(self, plan: PlanDict, cluster: Cluster, *, triggered: float) -> bool:
        """Take a kept plan, made on ``cluster``, whose round started at ``triggered``."""


class PlanningLoop:
    def __init__(
        self,
        store: ClusterStore,
        history: PlanJournal,
        metrics: Metrics,
        options: PlanOptions,
        *,
        debounce_seconds: float,
        start_method: str,
        handler: PlanHandler | None = None,
    ) -> None:
        self.options = options
        self._handler = handler
        self._store = store
        self._history = history
        self._metrics = metrics
        self._debounce_seconds = debounce_seconds
        self._start_method = start_method
        self._stop = threading.Event()
        self._sequence = itertools.count(1)
        self._thread = threading.Thread(target=self._run, name="planning-loop", daemon=True)
        self._spare: SolverWorker | None = None
        self.rounds = 0

    def start(self) -> None:
        if self._start_method == "forkserver":
            # Children fork from a server that imported the solvers once: no import per round.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([module for module, _ in METHODS.values()])
        self._spare = self._new_worker()  # the first round's: the solvers import meanwhile
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._spare is not None:
            self._spare.close()
            self._spare = None

    def _new_worker(self) -> SolverWorker | None:
        """A worker started ahead of its round: the first child (and, with forkserver, the server
        that preloads the solvers) costs seconds of imports, which must not come out of a round's
        budget."""
        return SolverWorker(self._start_method) if self.options.solver != "greedy" else None

    def _take_worker(self) -> SolverWorker | None:
        worker, self._spare = self._spare, None
        return worker if worker is not None else self._new_worker()

    def _run(self) -> None:
        seen = -1
        planned = -1
        while not self._stop.is_set():
            seen = self._store.wait_for_change(seen, POLL_SECONDS)
            if self._stop.wait(SETTLE_SECONDS):
                return
            seen = self._store.generation
            self._metrics.set_pending(self._store.pending_by_priority())
            store = self._store
            if not store.synced or seen == planned or not store.unschedulable():
                continue
            if self._handler is not None and self._handler.busy():
                continue  # a plan is being carried out; plan again once it ends
            if self._stop.wait(self._debounce_seconds):
                return
            if not store.unschedulable():
                continue
            if not store.fresh:  # never plan on a state the API server may have moved past
                logger.warning(
                    "not planning: the watched state is stale (%s)", ", ".join(store.stale_kinds())
                )
                continue
            planned = self._store.generation
            try:
                self.plan_once()
            except Exception:  # never let a bug end the loop
                logger.exception("planning round failed")
                self._metrics.plans.labels("failed").inc()

    def plan_once(self) -> PlanDict | None:
        """One round on the current state; the stored plan, or None if the round failed."""
        started = time.monotonic()
        options = self.options
        self.rounds += 1
        worker = self._take_worker()
        try:
            cluster = self._store.snapshot()
            plan = make_plan(cluster, options, started=started, worker=worker)
        except Exception as exc:
            logger.warning("planning round failed: %s", exc, exc_info=True)
            self._metrics.plans.labels("failed").inc()
            return None
        finally:
            if worker is not None:
                worker.close()
            if not self._stop.is_set():
                self._spare = self._new_worker()  # warm for the next round
        priorities = {pod.key: pod.priority for pod in cluster.pods}
        document = self._record(plan, priorities, time.monotonic() - started)
        handler = self._handler
        if handler is not None and document["status"]["improves"]:
            if self._store.fresh:  # never act on a state the API server may have moved past
                handler.submit(document, cluster, triggered=started)
            else:
                name = document["metadata"]["name"]
                logger.warning("plan %s not executed: the watched state is stale", name)
        return document

    def _record(self, plan: PackingPlan, priorities: dict[str, int], seconds: float) -> PlanDict:
        now = datetime.now(UTC)
        plan = dataclasses.replace(plan, name=f"{plan.name}-{next(self._sequence):04d}")
        document = plan_to_dict(plan)
        document["metadata"]["creationTimestamp"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        improves = plan.status.improves
        self._history.add(document)

        metrics = self._metrics
        metrics.plans.labels("improves" if improves else "no_improvement").inc()
        metrics.plan_duration.observe(seconds)
        for stage in document["status"].get("diagnostics", {}).get("stages", []):
            solver, status = _stage_labels(str(stage["name"]), str(stage["status"]))
            metrics.solve_duration.labels(solver, status).observe(float(stage["seconds"]))
        metrics.set_placeable(Counter(priorities.get(b.pod, 0) for b in plan.bindings))
        gained = ", ".join(
            f"{t.priority}: {t.before}->{t.after}"
            for t in plan.status.placed_by_priority
            if t.after != t.before
        )
        logger.info(
            "plan %s: %s, %d bindings, %d moves, %d evictions, %d unplanned, solver %s%s, %.2fs%s",
            plan.name,
            "improves" if improves else "no improvement",
            len(plan.bindings),
            len(plan.moves),
            len(plan.evictions),
            len(plan.unplanned),
            plan.status.solver,
            " (optimal)" if plan.status.optimal else "",
            seconds,
            f"; placed by priority {gained}" if gained else "",
        )
        return document
