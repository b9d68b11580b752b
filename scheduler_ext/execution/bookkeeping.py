"""A plan run's bookkeeping: the state every run keeps, what it writes and tells at each change
of phase (the journal entry with its execution record, the log, Events, metrics, the planned
pods' annotation), and its two endings. Kept apart from the phase steps (``run.py``) so that those
read as the protocol and nothing else; ``takeover.py`` rebuilds this state from a journal entry.
"""

from __future__ import annotations

import logging
from typing import Any

from scheduler_ext.errors import SchedulerExtError
from scheduler_ext.execution.context import RunContext, split_key
from scheduler_ext.execution.record import ExecutionRecord
from scheduler_ext.execution.targets import Placement, Targets
from scheduler_ext.planning.history import Phase

logger = logging.getLogger(__name__)

PLAN_ANNOTATION = "scheduler-ext.io/plan"
"""On each planned pod while its plan runs: which plan holds room for it."""


class RunBook:
    """The state of one plan run and everything it records; ``run.PlanRun`` steps it."""

    def __init__(self, targets: Targets, context: RunContext, *, triggered: float) -> None:
        self.targets = targets
        self.plan = targets.plan
        self._c = context
        self.phase = Phase.PENDING
        self.reason = ""
        self._triggered = triggered
        self._started = context.clock()
        self._deadline = self._started + context.deadline_seconds
        self._deadline_wall = context.now() + context.deadline_seconds
        self._recording = False
        """Whether the journal entry carries the execution record (from Reserving on)."""
        self.evicted: set[str] = set()
        self._known: dict[str, set[str]] = {}
        """Owner UID -> the UIDs of its pods when the plan started (later ones: replacements)."""

    @property
    def finished(self) -> bool:
        return self.phase.finished

    @property
    def overdue(self) -> bool:
        return self._c.clock() > self._deadline

    # --- endings ---------------------------------------------------------------------------------

    def _complete(self) -> None:
        c = self._c
        c.store.release(self.plan)
        moved = len(self.targets.moves)
        c.metrics.moves.labels("landed").inc(moved)
        c.metrics.plan_running.observe(max(0.0, c.clock() - self._triggered))
        summary = (
            f"{len(self.targets.placements)} pod(s) placed, {moved} moved, "
            f"{len(self.targets.victims) - moved} evicted"
        )
        self._enter(Phase.COMPLETED, summary)
        c.metrics.plan_outcomes.labels("completed", "").inc()
        for placement in self.targets.placements:
            self._annotate(placement, None)
            c.recorder.on_pod(
                placement,
                "PlanSucceeded",
                "Binding",
                f"placed on {placement.node} by plan {self.plan}",
            )
        c.recorder.on_plan(self.plan, "PlanSucceeded", "Binding", summary)

    def abort(self, cause: str, reason: str) -> None:
        """End the plan here: drop its reservations, say why everywhere."""
        if self.finished:
            return
        c = self._c
        landed = self._replacements_landed()  # before the release forgets what was consumed
        c.store.release(self.plan)
        c.metrics.moves.labels("abandoned").inc(max(0, len(self.targets.moves) - landed))
        logger.warning("plan %s aborted in %s: %s", self.plan, self.phase, reason)
        self._enter(Phase.ABORTED, reason)
        c.metrics.plan_outcomes.labels("aborted", cause).inc()
        for placement in self.targets.placements:
            self._annotate(placement, None)
            c.recorder.on_pod(placement, "PlanAborted", "Aborting", reason, warning=True)
        c.recorder.on_plan(self.plan, "PlanAborted", "Aborting", reason, warning=True)

    # --- helpers ---------------------------------------------------------------------------------

    def _enter(self, phase: Phase, reason: str) -> None:
        self.phase = phase
        self.reason = reason
        self._c.metrics.plan_phases.labels(phase.value).inc()
        logger.info("plan %s: %s (%s)", self.plan, phase.value, reason)
        self._keep()

    def execution(self) -> dict[str, Any]:
        """The execution record (``record.py``) as it stands."""
        known = {owner: frozenset(uids) for owner, uids in self._known.items()}
        record = ExecutionRecord(self.targets, frozenset(self.evicted), known, self._deadline_wall)
        return record.to_dict()

    def _keep(self) -> None:
        """Write the phase, the reason and (once room is held) the execution record."""
        execution = self.execution() if self._recording else None
        try:
            self._c.journal.set_phase(self.plan, self.phase, self.reason, execution=execution)
        except KeyError:
            logger.warning(
                "plan %s is no longer in the journal; phase %s not kept", self.plan, self.phase
            )
        except SchedulerExtError as exc:
            logger.warning("plan %s: phase %s not kept: %s", self.plan, self.phase, exc)

    def _annotate(self, placement: Placement, value: str | None) -> None:
        namespace, name = split_key(placement.key)
        try:
            self._c.client.annotate_pod(namespace, name, {PLAN_ANNOTATION: value})
        except SchedulerExtError as exc:
            logger.info("plan %s: %s", self.plan, exc)

    def _replacements_landed(self) -> int:
        """How many moved pods' replacements took their held room (the planned pods' rooms are
        consumed too, but they are no moves)."""
        consumed = self._c.store.consumed(self.plan)
        return sum(1 for r in self.targets.reservations() if r.owner_uid and r.id in consumed)

    def _held_nodes(self) -> set[str]:
        return {r.node for r in self._c.store.reservations(self.plan)}

    def _placement_on(self, node: str) -> Placement:
        """The planned pod a victim on ``node`` makes room for (the first planned there, else
        the first of the plan: room can be freed in a chain of moves)."""
        return next(
            (p for p in self.targets.placements if p.node == node), self.targets.placements[0]
        )

    def _summary(self) -> str:
        places = ", ".join(f"{p.key} on {p.node}" for p in self.targets.placements)
        moves = len(self.targets.moves)
        return f"places {places}; moves {moves}, evicts {len(self.targets.victims) - moves}"

    def _waiting(self) -> str:
        held = self._c.store.reservations(self.plan)
        if self.phase is Phase.EVICTING:
            return "victims not gone: " + ", ".join(sorted(v.key for v in self.targets.victims))
        if held:
            return "room not taken: " + ", ".join(f"{r.label} on {r.node}" for r in held)
        return "planned pods not running yet"
