"""Plans another process left active in the journal: resumed where that is safe, else aborted.

A leader that dies (or a service that is killed) mid-plan leaves its PackingPlan in Pending,
Reserving, Evicting or Binding, and its reservations die with it. The next leader (the same
service restarted included) looks at every active plan before it plans anything
(``take_over``), once its watched state is synced and fresh:

- **Pending**, improving: aborted ("not executed"). Nothing was held or evicted; it was made on a
  state this process never saw, and the next round plans on the current one.
- **Reserving, Evicting, Binding**: resumed from its execution record (``record.py``) when the
  live state still follows it: room held again *before anything else*, every victim gone,
  Terminating or recreated counted evicted (never evicted twice), room its pods took already
  counted taken; then the same checks as before the first eviction (drift, room) and on from
  the phase the journal says. Aborted instead, with ``leader changed mid-plan: ...``, when its
  deadline passed, the state drifted, the room no longer fits, or there is no record.

Only the newest such plan is resumed (the executor runs one at a time; there is never more than
one unless a journal write failed); any older one is aborted.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from scheduler_ext.cluster.reservations import demand_items
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.errors import SchedulerExtError
from scheduler_ext.execution import checks
from scheduler_ext.execution.context import Abort, RunContext
from scheduler_ext.execution.record import BadRecord, ExecutionRecord
from scheduler_ext.execution.run import PlanRun
from scheduler_ext.execution.targets import Targets
from scheduler_ext.planning.history import Phase, PlanDict

logger = logging.getLogger(__name__)

TAKEN_OVER = "leader changed mid-plan"
HOLDING = (Phase.RESERVING.value, Phase.EVICTING.value, Phase.BINDING.value)


class ResumedRun(PlanRun):
    """A run rebuilt from its journal entry; its first step takes it over."""

    def __init__(self, record: ExecutionRecord, phase: Phase, context: RunContext) -> None:
        super().__init__(record.targets, context, triggered=context.clock())
        self._deadline = context.clock() + (record.deadline - context.now())
        self._deadline_wall = record.deadline
        self.evicted = set(record.evicted)
        self._known = {owner: set(uids) for owner, uids in record.known.items()}
        self._recording = True
        self.phase = phase
        self._taken_over = False

    def step(self) -> bool:
        if not self._taken_over and not self.finished:
            self._taken_over = True
            try:
                self._take_over()
            except Abort as exc:
                self.abort(exc.cause, f"{TAKEN_OVER}: {exc.reason}")
                self._c.metrics.reservations.set(len(self._c.store.reservations()))
                return True
        return super().step()

    def _take_over(self) -> None:
        c, store = self._c, self._c.store
        if c.clock() > self._deadline:
            raise Abort("deadline", f"its deadline passed in {self.phase} before the take-over")
        for victim in self.targets.victims:
            pod = store.pod(victim.key)
            if pod is None or pod.uid != victim.uid or pod.terminating:
                self.evicted.add(victim.key)  # evicted (by the dead leader?): never again
        store.reserve(self.targets.reservations(), self._taken(store))
        self._reserved_at = c.clock()
        why = checks.drift(self.targets, store, evicted=self.evicted, known=self._known)
        if why is not None:
            raise Abort("drift", f"state drifted: {why}")
        short = checks.room_short(self.targets, store)
        if short is not None:
            raise Abort("room", short)
        reason = f"{TAKEN_OVER}: resumed in {self.phase}"
        logger.warning("plan %s: %s (%d victim(s) evicted)", self.plan, reason, len(self.evicted))
        self._enter(self.phase, reason)
        c.recorder.on_plan(self.plan, "PlanResumed", self.phase.value, reason)

    def _taken(self, store: ClusterStore) -> dict[str, str]:
        return taken(self.targets, self._known, store)


def taken(
    targets: Targets, known: Mapping[str, Collection[str]], store: ClusterStore
) -> dict[str, str]:
    """Reservation id -> pod key, for the room a plan's pods took already (while no process held
    it, or before this one held it): a planned pod bound on its node, a replacement (owner and
    shape, not one of ``known``) on its new node."""
    found: dict[str, str] = {}
    pods = store.pods()
    for reservation in targets.reservations():
        for pod in pods:
            if pod.node_name != reservation.node or pod.terminating:
                continue
            if pod.key in found.values():
                continue
            owner = pod.owner.uid if pod.owner is not None else ""
            new = pod.uid not in known.get(owner, ())
            if reservation.entitles(pod.uid, owner, demand_items(pod.demand())) and (
                reservation.pod_uid or new
            ):
                found[reservation.id] = pod.key
                break
    return found


def running_records(plans: list[PlanDict]) -> dict[str, ExecutionRecord]:
    """The execution records of the ``plans`` that hold room (Reserving, Evicting, Binding)."""
    records: dict[str, ExecutionRecord] = {}
    for plan in plans:
        status = plan.get("status") or {}
        if status.get("phase") not in HOLDING:
            continue
        name = str(plan["metadata"]["name"])
        try:
            records[name] = ExecutionRecord.parse(name, status.get("execution"))
        except BadRecord:
            continue
    return records


def _abort_unresumable(plan: str, context: RunContext, reason: str) -> None:
    logger.warning("plan %s aborted: %s", plan, reason)
    try:
        context.journal.set_phase(plan, Phase.ABORTED, reason)
    except (KeyError, SchedulerExtError) as exc:
        logger.warning("plan %s: phase Aborted not kept: %s", plan, exc)
        return
    context.metrics.plan_outcomes.labels("aborted", "takeover").inc()
    context.recorder.on_plan(plan, "PlanAborted", "Aborting", reason, warning=True)


def take_over(plans: list[PlanDict], context: RunContext) -> PlanRun | None:
    """Deal with the active ``plans`` (oldest first) as the module says; the run to carry on."""
    runs: list[PlanRun] = []
    for plan in plans:
        name = str(plan["metadata"]["name"])
        status = plan.get("status") or {}
        phase = Phase(str(status.get("phase") or Phase.PENDING.value))
        if phase is Phase.PENDING:
            if status.get("improves"):
                reason = f"not executed: {TAKEN_OVER} before it started; planned again"
                _abort_unresumable(name, context, reason)
            continue
        try:
            record = ExecutionRecord.parse(name, status.get("execution"))
        except BadRecord as exc:
            _abort_unresumable(name, context, f"{TAKEN_OVER}: cannot resume it: {exc}")
            continue
        runs.append(ResumedRun(record, phase, context))
    for older in runs[:-1]:
        older.abort("takeover", f"{TAKEN_OVER}: a newer plan was running too")
    return runs[-1] if runs else None
