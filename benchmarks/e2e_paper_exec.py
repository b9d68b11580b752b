"""scheduler-ext acting on the state kube-scheduler left: one budget of one instance.

No kube-scheduler runs when this starts (the stock one has settled and stopped; the pods it could
not place are marked Unschedulable). ``scheduler-ext serve`` starts in enforce mode with the
budget as its planning time limit, and, once it is ready, kube-scheduler with the shipped
all-verbs extender configuration pointed at it (deploy/; as the execution e2e and
``testkit.demo`` run them). The service's first plan is followed on its plans API until it is
Completed or Aborted (at once if it does not improve: nothing is carried out); then kube-scheduler
and the service stop, so that nothing moves while the result is read.

Times: ``trigger`` is the end of the service's debounce after it became ready (its first round
starts then: the Unschedulable pods were already there); ``seconds_to_running`` runs from it
until the plan is seen Completed, which the executor declares only once every planned pod and
every moved pod's replacement runs on its planned node. The debounce is the warm-up a
long-running service has: its first solver worker imports the solvers meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.e2e_paper_observe import SeenPod, observe
from benchmarks.e2e_paper_procs import KubeScheduler, extender_scheduler_config, terminate
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube
from testkit.service import ServiceProcess
from testkit.wait import WaitTimeout, wait_for

DEBOUNCE_SECONDS = 5.0
DEADLINE_SECONDS = 180.0
"""The executor's deadline for one plan (its default is 120 s; this machine is shared)."""


@dataclass(frozen=True)
class Executed:
    outcome: str
    """Completed, Aborted, "no improvement" or "no plan"."""
    reason: str
    plan: dict[str, Any]
    """The plan as the plans API served it ({} when no plan was made)."""
    optimal: bool
    solver: str
    plan_wall: float | None
    seconds_to_running: float | None
    startup_seconds: float
    before: list[SeenPod]
    after: list[SeenPod]

    @property
    def spec(self) -> dict[str, Any]:
        """The moves, evictions and bindings carried out ({} when none were)."""
        if not self.plan or not self.plan["status"].get("improves"):
            return {}
        spec: dict[str, Any] = self.plan["spec"]
        return spec


def _first_plan(service: ServiceProcess) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = service.get_json("/api/v1/plans")["items"]
    return items[-1] if items else None  # newest first; the service is fresh


def _finished(plan: dict[str, Any] | None) -> bool:
    if plan is None:
        return False
    status = plan["status"]
    return not status.get("improves") or status.get("phase") in ("Completed", "Aborted")


def execute(
    cluster: KwokCluster, kube: Kube, namespace: str, budget: float, logs: Path
) -> Executed:
    before = observe(kube, namespace)
    cluster.kubectl("delete", "packingplans", "--all", "-n", "default", "--ignore-not-found")
    port = free_port()
    env = {
        "SCHEDULER_EXT_MODE": "enforce",
        "SCHEDULER_EXT_PLANNING__TIME_LIMIT_SECONDS": f"{budget:g}",
        "SCHEDULER_EXT_PLANNING__DEBOUNCE_SECONDS": f"{DEBOUNCE_SECONDS:g}",
        "SCHEDULER_EXT_EXECUTION__DEADLINE_SECONDS": f"{DEADLINE_SECONDS:g}",
    }
    service = ServiceProcess(cluster.kubeconfig, port, logs / "service.log", env=env)
    started = time.monotonic()
    service.start()
    plan: dict[str, Any] | None = None
    try:
        service.wait_ready(timeout=180)
        trigger = time.monotonic() + DEBOUNCE_SECONDS
        with KubeScheduler(cluster, extender_scheduler_config(port), logs / "kube-scheduler.log"):
            try:
                plan = wait_for(
                    lambda: _first_plan(service),
                    _finished,
                    description=f"{namespace}: the service's first plan finished",
                    timeout=DEBOUNCE_SECONDS + 3 * budget + DEADLINE_SECONDS + 60,
                    interval=0.25,
                )
            except WaitTimeout:
                plan = _first_plan(service)  # none, or one that never finished
            done = time.monotonic()
    finally:
        terminate(service.process)
    after = observe(kube, namespace)
    if plan is None:
        return Executed("no plan", "", {}, False, "", None, None, trigger - started, before, after)
    status = plan["status"]
    phase = status.get("phase", "")
    if not status.get("improves"):
        outcome = "no improvement"
    elif phase in ("Completed", "Aborted"):
        outcome = phase
    else:
        outcome = f"unfinished ({phase})"
    return Executed(
        outcome=outcome,
        reason=str(status.get("reason", "")),
        plan=plan,
        optimal=bool(status.get("optimal")),
        solver=str(status.get("solver", "")),
        plan_wall=status.get("wallSeconds"),
        seconds_to_running=round(done - trigger, 2) if outcome == "Completed" else None,
        startup_seconds=round(trigger - DEBOUNCE_SECONDS - started, 2),
        before=before,
        after=after,
    )
