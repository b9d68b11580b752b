"""Enforce mode: kube-scheduler's own preemption waits for the planner's verdict on the pod.

kube-scheduler preempts one pod at a time, on one node, killing lower-priority pods whether or not
they could have moved (and PodDisruptionBudgets only as a preference). It calls the preempt verb
only after its own dry run found candidates, that is, for a pod that could be placed by deleting
pods; a move-based plan often places the same pod with no pod killed. So in enforce mode, for a
pod the service plans for, the preempt verb answers *no candidate* until the planner has spoken
on that pod:

- a plan made since the pod's first preempt call places it: keep vetoing (the executor carries the
  plan out: moves first, and evictions only where the plan has them, through the Eviction API);
  unless that plan was aborted;
- a plan made since then leaves it unplaced: kube-scheduler's candidates go back unchanged;
- no such plan yet: veto for at most ``window_seconds`` (a debounce and a planning round), then
  kube-scheduler's candidates again, so a planner that cannot keep up never blocks preemption.

A pod the veto holds back is marked Unschedulable by kube-scheduler, which is what starts a
planning round. Pods are remembered by UID for at most ``10 * window_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from scheduler_ext.planning.history import Phase, PlanDict, PlanJournal

REMEMBERED = 10_000
"""Pods remembered at most (the oldest are forgotten first)."""


def _created(plan: PlanDict) -> float | None:
    stamp = plan.get("metadata", {}).get("creationTimestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def _verdict(plan: PlanDict, key: str) -> bool | None:
    """True: the plan places the pod (and was not aborted); False: it leaves it unplaced or was
    aborted; None: it does not name the pod."""
    spec = plan.get("spec") or {}
    if any(b.get("pod") == key for b in spec.get("bindings") or []):
        return bool(plan.get("status", {}).get("phase") != Phase.ABORTED.value)
    if any(u.get("pod") == key for u in spec.get("unplanned") or []):
        return False
    return None


class PreemptionGate:
    def __init__(
        self,
        journal: PlanJournal,
        *,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._window = window_seconds
        self._clock = clock
        self._first: dict[str, float] = {}
        self._lock = threading.Lock()

    def defers(self, key: str, uid: str) -> bool:
        """Whether kube-scheduler's preemption for the pod ``key`` (``uid``) waits for now."""
        now = self._clock()
        with self._lock:
            first = self._first.setdefault(uid, now)
            self._forget_old(now)
        since = int(first) - 1  # creation timestamps have whole seconds
        for plan in self._journal.list():  # newest first
            created = _created(plan)
            if created is None or created < since:
                break
            verdict = _verdict(plan, key)
            if verdict is not None:
                return verdict
        return now - first < self._window

    def _forget_old(self, now: float) -> None:
        if len(self._first) > REMEMBERED or (
            self._first and now - next(iter(self._first.values())) > 10 * self._window
        ):
            horizon = now - 10 * self._window
            self._first = {u: t for u, t in self._first.items() if t >= horizon}
            while len(self._first) > REMEMBERED:
                del self._first[next(iter(self._first))]
