"""scheduler-ext acting on the state kube-scheduler left: one budget of one instance.

``scheduler-ext serve`` (enforce mode, the budget as its planning time limit) is started while
the stock kube-scheduler is still settling, as a follower: a Lease held by a stand-in holder
keeps it from planning (only the leader plans, ``planning/leader.py``), while it starts, syncs its
watches and warms its first solver worker, as a long-running service has. ``act`` then starts
kube-scheduler with the shipped all-verbs extender configuration pointed at it (deploy/; as the
execution e2e and ``testkit.demo`` run them) and releases the Lease: the service takes it and
plans on the pods kube-scheduler left Unschedulable. Its first plan is followed on the plans API
until it is Completed or Aborted (at once if it does not improve: nothing is carried out); then
kube-scheduler and the service stop, so that nothing moves while the result is read.

Times: ``trigger`` is when the service is seen to lead (``scheduler_ext_leader``), polled every
0.1 s; ``seconds_to_running`` runs from it until the plan is seen Completed, which the executor
declares only once every planned pod and every moved pod's replacement runs on its planned node.
It includes the debounce and the planning time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from benchmarks.e2e_paper_observe import SeenPod, observe
from benchmarks.e2e_paper_procs import KubeScheduler, extender_scheduler_config
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube
from testkit.processes import terminate
from testkit.service import ServiceProcess
from testkit.wait import WaitTimeout, wait_for

DEBOUNCE_SECONDS = 1.0
"""The service's default."""
DEADLINE_SECONDS = 180.0
"""The executor's deadline for one plan (its default is 120 s; this machine is shared)."""
LEASE = "scheduler-ext"
LEASE_NAMESPACE = "default"
"""The service's Lease (its defaults: ``leader_election.lease_name``, ``cluster.namespace``)."""
STAND_IN = "e2e-paper-kube-scheduler-phase"


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
    """From the service's start until it was seen ready, when its turn came (it starts while
    kube-scheduler settles, so this is at least the settle time)."""
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
    status = plan.get("status", {})
    if "improves" not in status:  # a PackingPlan whose status is not written yet
        return False
    return not status["improves"] or status.get("phase") in ("Completed", "Aborted")


def hold_lease(kube: Kube) -> None:
    """The service's Lease held by a stand-in for an hour: a service started now stays a
    follower."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": LEASE_NAMESPACE},
        "spec": {
            "holderIdentity": STAND_IN,
            "leaseDurationSeconds": 3600,
            "acquireTime": now,
            "renewTime": now,
        },
    }
    try:
        kube.coordination.delete_namespaced_lease(LEASE, LEASE_NAMESPACE)
    except ApiException as exc:
        if exc.status != 404:
            raise
    kube.coordination.create_namespaced_lease(LEASE_NAMESPACE, body)


def release_lease(kube: Kube) -> None:
    patch = {"spec": {"holderIdentity": ""}}
    kube.coordination.patch_namespaced_lease(LEASE, LEASE_NAMESPACE, patch)


class ServiceRun:
    """One budget's service: ``start`` early (a follower), ``act`` once the state is ready."""

    def __init__(self, cluster: KwokCluster, kube: Kube, budget: float, logs: Path) -> None:
        self.cluster, self.kube, self.budget, self.logs = cluster, kube, budget, logs
        self.port = free_port()
        env = {
            "SCHEDULER_EXT_MODE": "enforce",
            "SCHEDULER_EXT_PLANNING__TIME_LIMIT_SECONDS": f"{budget:g}",
            "SCHEDULER_EXT_PLANNING__DEBOUNCE_SECONDS": f"{DEBOUNCE_SECONDS:g}",
            "SCHEDULER_EXT_EXECUTION__DEADLINE_SECONDS": f"{DEADLINE_SECONDS:g}",
            # Take the released Lease within about a second (the default retry is 2 s).
            "SCHEDULER_EXT_LEADER_ELECTION__RETRY_PERIOD_SECONDS": "0.5",
        }
        self.service = ServiceProcess(cluster.kubeconfig, self.port, logs / "service.log", env=env)
        self.started = 0.0

    def start(self) -> ServiceRun:
        self.cluster.kubectl(
            "delete", "packingplans", "--all", "-n", LEASE_NAMESPACE, "--ignore-not-found"
        )
        hold_lease(self.kube)
        self.started = time.monotonic()
        self.service.start()
        return self

    def stop(self) -> None:
        terminate(self.service.process)

    def act(self, namespace: str) -> Executed:
        try:
            return self._act(namespace)
        finally:
            self.stop()

    def _act(self, namespace: str) -> Executed:
        kube, service = self.kube, self.service
        before = observe(kube, namespace)
        service.wait_ready(timeout=180)
        startup = time.monotonic() - self.started
        plan: dict[str, Any] | None = None
        config = extender_scheduler_config(self.port)
        with KubeScheduler(self.cluster, config, self.logs / "kube-scheduler.log"):
            release_lease(kube)
            wait_for(
                lambda: service.metric("scheduler_ext_leader"),
                lambda leading: leading == 1,
                description="the service leading",
                timeout=60,
                interval=0.1,
            )
            trigger = time.monotonic()
            try:
                plan = wait_for(
                    lambda: _first_plan(service),
                    _finished,
                    description=f"{namespace}: the service's first plan finished",
                    timeout=DEBOUNCE_SECONDS + 3 * self.budget + DEADLINE_SECONDS + 60,
                    interval=0.25,
                )
            except WaitTimeout:
                plan = _first_plan(service)  # none, or one that never finished
            done = time.monotonic()
        self.stop()
        after = observe(kube, namespace)
        return _executed(plan, before, after, round(done - trigger, 2), round(startup, 2))


def _executed(
    plan: dict[str, Any] | None,
    before: list[SeenPod],
    after: list[SeenPod],
    seconds: float,
    startup: float,
) -> Executed:
    if plan is None:
        return Executed("no plan", "", {}, False, "", None, None, startup, before, after)
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
        seconds_to_running=seconds if outcome == "Completed" else None,
        startup_seconds=startup,
        before=before,
        after=after,
    )
