"""One plan carried out, a step at a time, against the watched state.

``PlanRun.step`` moves the plan as far as the state allows now and returns; the executor calls it
again after every change of the state (or every ``poll``). The phases (``planning/history.Phase``):

1. **Pending -> Reserving**: the state still follows the plan (``checks.drift``); the UIDs of each
   moved pod's owner's pods are noted (a later one is a replacement); the room is held
   (``cluster/reservations.py``) and must fit on every node once the victims are gone; the
   planned pods are annotated with the plan's name.
2. **Reserving -> Evicting**, ``settle`` seconds later: a filter answered just before the holds
   were in place may have let a pod in; the room is checked again before anything is evicted.
3. **Evicting**: each victim is checked against the live state and the eviction rules just
   before its own eviction, then evicted through policy/v1 Eviction with its UID as
   precondition. A 429 (a PodDisruptionBudget) or any refusal aborts: never forced, never a
   DELETE. Then the victims must be gone from the state (a terminating pod still holds its room).
4. **Binding**: each planned pod not yet bound is bound to its node through the API (kube-scheduler
   may bind it first: the filter keeps it to that node), once the room there is free; the plan is
   Completed when every planned pod runs on its node and every held room was taken by the pod it
   was held for (the replacements of moved pods on their planned nodes).

Any drift, a refusal, or the deadline aborts the plan: its reservations are dropped and the reason
goes to the journal, the log, an Event and the metrics. What a run keeps and tells at each change
of phase, and its two endings, are ``bookkeeping.py``'s: this module is the steps alone.
"""

from __future__ import annotations

import logging

from scheduler_ext.cluster.eviction import EvictionResult
from scheduler_ext.errors import SchedulerExtError
from scheduler_ext.execution import checks
from scheduler_ext.execution.bookkeeping import RunBook
from scheduler_ext.execution.context import Abort, RunContext, split_key
from scheduler_ext.execution.targets import Placement, Targets, Victim
from scheduler_ext.extender.binding import already_bound_to
from scheduler_ext.planning.history import Phase

logger = logging.getLogger(__name__)

BIND_ATTEMPTS = 3
BIND_RETRY_SECONDS = 2.0
"""After a failed binding, the next try waits this long: a 409 usually means kube-scheduler bound
the pod first, which the watch shows a moment later."""


class PlanRun(RunBook):
    """One plan's phases, stepped; what it keeps and tells is ``RunBook``'s."""

    def __init__(self, targets: Targets, context: RunContext, *, triggered: float) -> None:
        super().__init__(targets, context, triggered=triggered)
        self._reserved_at = 0.0
        self._bind_failures: dict[str, int] = {}
        self._bind_after: dict[str, float] = {}

    def step(self) -> bool:
        """Advance as far as the state allows now; True once Completed or Aborted."""
        if self.finished:
            return True
        try:
            if self._c.clock() > self._deadline:
                raise Abort(
                    "deadline", f"stalled in {self.phase} past its deadline: {self._waiting()}"
                )
            if self.phase is Phase.PENDING:
                self._reserve()
            elif self.phase is Phase.RESERVING:
                self._start_evicting()
            elif self.phase is Phase.EVICTING:
                self._evict()
            elif self.phase is Phase.BINDING:
                self._bind()
        except Abort as exc:
            self.abort(exc.cause, exc.reason)
        finally:
            self._c.metrics.reservations.set(len(self._c.store.reservations()))
        return self.finished

    # --- phases ----------------------------------------------------------------------------------

    def _check_drift(self) -> None:
        why = checks.drift(self.targets, self._c.store, evicted=self.evicted, known=self._known)
        if why is not None:
            raise Abort("drift", why)

    def _reserve(self) -> None:
        store = self._c.store
        owners = {v.owner_uid for v in self.targets.moves}
        for pod in store.pods():
            if pod.owner is not None and pod.owner.uid in owners:
                self._known.setdefault(pod.owner.uid, set()).add(pod.uid)
        self._check_drift()
        store.reserve(self.targets.reservations())
        self._reserved_at = self._c.clock()
        self._recording = True
        self._enter(Phase.RESERVING, "room held on " + ", ".join(sorted(self._held_nodes())))
        short = checks.room_short(self.targets, store)
        if short is not None:
            raise Abort("room", short)
        for placement in self.targets.placements:
            self._annotate(placement, self.plan)
            self._c.recorder.on_pod(
                placement,
                "PlanStarted",
                "Reserving",
                f"plan {self.plan} places it on {placement.node}: room held there, "
                f"{len(self.targets.victims)} pod(s) to move or evict first",
            )
        self._c.recorder.on_plan(self.plan, "PlanStarted", "Reserving", self._summary())

    def _start_evicting(self) -> None:
        if self._c.clock() - self._reserved_at < self._c.settle_seconds:
            return
        self._check_drift()
        short = checks.room_short(self.targets, self._c.store)
        if short is not None:
            raise Abort("room", short)
        self._enter(Phase.EVICTING, f"evicting {len(self.targets.victims)} pod(s)")
        self._evict()

    def _evict(self) -> None:
        self._check_drift()
        for victim in self.targets.victims:
            if victim.key not in self.evicted:
                self._evict_one(victim)
        store = self._c.store
        left = [
            v.key
            for v in self.targets.victims
            if (pod := store.pod(v.key)) is not None and pod.uid == v.uid
        ]
        if not left:
            self._enter(Phase.BINDING, "every victim is gone")
            self._bind()

    def _evict_one(self, victim: Victim) -> None:
        refusal = checks.victim_refusal(victim, self._c.store.snapshot(), self._c.policy)
        if refusal is not None:
            raise Abort("rules", refusal)
        if victim.to_node is not None and not self._homes_held(victim):
            raise Abort("room", f"the new home of {victim.key} on {victim.to_node} is not held")
        namespace, name = split_key(victim.key)
        outcome = self._c.client.evict(namespace, name, victim.uid)
        self._c.metrics.evictions.labels(outcome.result.value).inc()
        if outcome.result is EvictionResult.BLOCKED:
            raise Abort("budget", f"eviction of {victim.key} refused: {outcome.detail}")
        if outcome.result is EvictionResult.REFUSED:
            raise Abort("eviction", f"eviction of {victim.key} failed: {outcome.detail}")
        self.evicted.add(victim.key)
        self._keep()  # before anything else: a new leader must never evict it again
        for_pod = self._placement_on(victim.node)
        where = f"moved to {victim.to_node}" if victim.to_node else "evicted"
        note = f"{where} to make room for {for_pod.key} (plan {self.plan})"
        logger.info("plan %s: %s %s", self.plan, victim.key, note)
        self._c.recorder.on_victim(victim, for_pod, note)

    def _homes_held(self, victim: Victim) -> bool:
        """Whether room is still held for ``victim``'s replacement. Replacements of one owner and
        shape are interchangeable (the filter lets each take any room held for that owner and
        shape, drift accepts any of those nodes), so one may land where another victim's was
        planned: count, not node. Held rooms must cover every victim of that kind not evicted
        yet (this one too); fewer means a pod that is no replacement took one."""
        kind = (victim.owner_uid, victim.demand)
        held = sum(
            1
            for r in self._c.store.reservations(self.plan)
            if r.owner_uid and (r.owner_uid, r.demand) == kind
        )
        left = sum(
            1
            for v in self.targets.moves
            if (v.owner_uid, v.demand) == kind and v.key not in self.evicted
        )
        return held >= left

    def _bind(self) -> None:
        self._check_drift()
        store = self._c.store
        for placement in self.targets.placements:
            pod = store.pod(placement.key)
            if pod is not None and pod.node_name is None:
                self._bind_one(placement)
        if store.reservations(self.plan) or not self._running():
            return
        self._complete()

    def _bind_one(self, placement: Placement) -> None:
        store = self._c.store
        if placement.key in store.assumed() or self._c.clock() < self._bind_after.get(
            placement.key, 0.0
        ):
            return  # bound by the bind verb (the watch will show it), or retried later
        demand = dict(placement.demand)
        holds = store.holds_for(placement.uid, "", demand)
        [room] = store.room([placement.node])
        if room is None:
            raise Abort("drift", f"node {placement.node} is gone")
        against = holds.against.get(placement.node, {})
        if any(room[1].get(r, 0) - against.get(r, 0) < amount for r, amount in demand.items()):
            return  # not free yet: a victim's room is still counted (or taken: the deadline)
        namespace, name = split_key(placement.key)
        try:
            self._c.client.bind(namespace, name, placement.uid, placement.node)
        except SchedulerExtError as exc:  # kube-scheduler may have bound it first: re-read
            bound_to = already_bound_to(str(exc))
            if bound_to == placement.node:  # the same outcome: the watch will show it
                logger.info(
                    "plan %s: %s was already bound to %s (by kube-scheduler)",
                    self.plan,
                    placement.key,
                    placement.node,
                )
                self._bind_after[placement.key] = self._c.clock() + BIND_RETRY_SECONDS
                return
            if bound_to is not None:
                raise Abort(
                    "drift",
                    f"planned pod {placement.key} was bound to {bound_to} by another binder, "
                    f"not to {placement.node}",
                ) from exc
            failures = self._bind_failures[placement.key] = (
                self._bind_failures.get(placement.key, 0) + 1
            )
            logger.info("plan %s: binding %s: %s", self.plan, placement.key, exc)
            self._bind_after[placement.key] = self._c.clock() + BIND_RETRY_SECONDS
            if failures >= BIND_ATTEMPTS:
                raise Abort("bind", f"binding {placement.key} failed: {exc}") from exc
            return
        pod = store.pod(placement.key)
        if pod is not None:
            store.assume(pod, placement.node)
        logger.info("plan %s: bound %s to %s", self.plan, placement.key, placement.node)

    # --- endings ---------------------------------------------------------------------------------

    def _running(self) -> bool:
        """Every planned pod and every replacement that took held room runs on its node."""
        store = self._c.store
        keys = [p.key for p in self.targets.placements]
        keys += list(store.consumed(self.plan).values())
        for key in keys:
            pod = store.pod(key)
            if pod is None or pod.node_name is None or pod.phase != "Running":
                return False
        return True
