"""Plans as PackingPlan objects and leader election, on a real control plane.

- The shipped CRD installs; a plan the service makes is a PackingPlan in the service's namespace,
  with its phase, and ``kubectl get packingplans`` shows the printer columns; a restarted service
  serves the same plan through the plans API.
- The client's writes are what the API server accepts: a plan bounded to fit (a long unplanned
  list) is stored, its phase patched, retention deletes it; the Lease's MicroTime fields, even at
  microsecond 0, are accepted on create and on a compare-and-swap renewal.
- Two replicas against one cluster: exactly one holds the Lease and only it plans; both serve the
  leader's plans; killing the leader (SIGKILL: no release) hands the Lease to the other, which then
  plans.

The trigger is a pod no node can hold (kube-scheduler marks it Unschedulable): every planning
round records a plan for it (one that does not improve), which is all persistence needs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scheduler_ext.cluster.client import KubeClient
from scheduler_ext.cluster.plan_store import PlanStore
from scheduler_ext.domain import PackingPlan, PlanStatus, Unplanned
from scheduler_ext.planning.history import Phase
from scheduler_ext.planning.leader import LeaderElector
from scheduler_ext.planning.object_size import MAX_PLAN_BYTES
from scheduler_ext.planning.packingplans import PackingPlanJournal
from scheduler_ext.planning.render import plan_to_dict
from testkit import builders
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube
from testkit.sandbox import Sandbox
from testkit.service import ServiceProcess
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "scheduler-ext"
LEASE = {"duration": 4.0, "deadline": 3.0, "retry": 0.5}


def _env(identity: str) -> dict[str, str]:
    return {
        "SCHEDULER_EXT_CLUSTER__NAMESPACE": NAMESPACE,
        "SCHEDULER_EXT_PLANNING__JOURNAL": "packingplans",
        "SCHEDULER_EXT_LEADER_ELECTION__IDENTITY": identity,
        "SCHEDULER_EXT_LEADER_ELECTION__LEASE_DURATION_SECONDS": str(LEASE["duration"]),
        "SCHEDULER_EXT_LEADER_ELECTION__RENEW_DEADLINE_SECONDS": str(LEASE["deadline"]),
        "SCHEDULER_EXT_LEADER_ELECTION__RETRY_PERIOD_SECONDS": str(LEASE["retry"]),
    }


@pytest.fixture
def cluster(cluster_factory: ClusterFactory) -> Iterator[KwokCluster]:
    made = cluster_factory(builders.scheduler_config(), prefix="pplan")
    try:
        made.install_crds()
        with Kube(made.api_client()) as kube:
            kube.create(builders.namespace(NAMESPACE))
        yield made
    finally:
        cluster_factory.delete(made)


def _unschedulable(kube: Kube, box: Sandbox, name: str) -> None:
    """A pod no node of the sandbox can hold, once kube-scheduler has given up on it."""
    kube.create(
        builders.pod(
            name, namespace=box.namespace, requests={"cpu": "64"}, node_selector=box.node_selector
        )
    )
    kube.wait_pod(
        name,
        box.namespace,
        lambda p: any(
            c.type == "PodScheduled" and c.reason == "Unschedulable"
            for c in p.status.conditions or []
        ),
        description=f"{name} Unschedulable",
    )


def _plans(service: ServiceProcess) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = service.get_json("/api/v1/plans")["items"]
    return items


def _plan_for(service: ServiceProcess, pod: str) -> dict[str, Any]:
    found = wait_for(
        lambda: [p for p in _plans(service) if pod in json.dumps(p["spec"]["unplanned"])],
        bool,
        description=f"a plan naming {pod}",
        timeout=60,
    )
    return found[0]


def test_a_plan_is_a_packingplan_that_outlives_the_service(
    cluster: KwokCluster, tmp_path: Path
) -> None:
    port = free_port()
    first = ServiceProcess(cluster.kubeconfig, port, tmp_path / "first.log", env=_env("first"))
    first.start()
    with Kube(cluster.api_client()) as kube:
        box = Sandbox(kube, prefix="pplan")
        try:
            first.wait_ready()
            box.nodes(1, cpu="2", memory="4Gi")
            _unschedulable(kube, box, "huge")
            plan = _plan_for(first, f"{box.namespace}/huge")
            name = plan["metadata"]["name"]
            assert plan["status"]["phase"] == "Pending"
            assert "plans kept as PackingPlans in namespace scheduler-ext" in first.log()

            stored = json.loads(
                cluster.kubectl("get", "packingplan", name, "-n", NAMESPACE, "-o", "json")
            )
            assert stored["status"]["phase"] == "Pending"
            assert stored["status"]["counts"] == {
                "bindings": 0,
                "moves": 0,
                "evictions": 0,
                "unplanned": len(plan["spec"]["unplanned"]),
            }
            assert stored["spec"] == plan["spec"]
            table = cluster.kubectl("get", "pplan", "-n", NAMESPACE).splitlines()
            assert table[0].split() == [
                "NAME", "PHASE", "IMPROVES", "BINDINGS", "MOVES", "EVICTIONS", "AGE", "REASON",
            ]  # fmt: skip
            row = next(line.split() for line in table[1:] if line.startswith(name))
            assert row[1:6] == ["Pending", "false", "0", "0", "0"]
            first.stop()

            second = ServiceProcess(
                cluster.kubeconfig, port, tmp_path / "second.log", env=_env("second")
            )
            second.start()
            try:
                second.wait_ready()
                served = wait_for(
                    lambda: second.get(f"/api/v1/plans/{name}"),
                    lambda answer: answer[0] == 200,
                    description="the restarted service serving the plan",
                )
                assert json.loads(served[1]) == plan
            finally:
                second.stop()
        finally:
            first.stop()
            box.cleanup()


def _long_plan(name: str, unplanned: int) -> dict[str, Any]:
    reason = "not placed: no room at its priority within the time limit"
    plan = PackingPlan(
        name=name,
        bindings=(),
        moves=(),
        evictions=(),
        unplanned=tuple(Unplanned(f"team-{i % 97}/worker-{i}", reason) for i in range(unplanned)),
        status=PlanStatus(False, False, "greedy", 5.0, ()),
    )
    return plan_to_dict(plan)


def test_the_api_server_accepts_what_the_client_writes(cluster: KwokCluster) -> None:
    client = KubeClient.connect(str(cluster.kubeconfig), namespace=NAMESPACE)
    try:
        assert client.plans_served()
        journal = PackingPlanJournal(client, PlanStore(), keep=1, keep_unfinished=False)
        journal.add(_long_plan("plan-long", 30_000))  # about 3 MB of JSON whole
        stored = json.loads(
            cluster.kubectl("get", "packingplan", "plan-long", "-n", NAMESPACE, "-o", "json")
        )
        kept = len(stored["spec"]["unplanned"])
        assert stored["status"]["truncated"] == {"spec.unplanned": 30_000 - kept}
        assert stored["status"]["counts"]["unplanned"] == 30_000
        assert stored["status"]["phase"] == "Pending"
        compact = json.dumps(stored, separators=(",", ":"))  # as etcd stores it
        assert len(compact) < MAX_PLAN_BYTES + 20_000  # metadata, managedFields
        journal.set_phase("plan-long", Phase.ABORTED, "a node is gone")
        phase = cluster.kubectl(
            "get", "pplan", "plan-long", "-n", NAMESPACE, "-o", "jsonpath={.status.phase}"
        )
        assert phase == "Aborted"
        journal.add(_long_plan("plan-next", 3))  # keeps 1: plan-long is deleted
        names = cluster.kubectl("get", "pplan", "-n", NAMESPACE, "-o", "name").split()
        assert names == ["packingplan.scheduler-ext.io/plan-next"]

        at_zero = datetime(2026, 12, 1, 12, 0, 0, 0, tzinfo=UTC)  # isoformat() drops ".000000"
        elector = LeaderElector(client, name="probe", identity="e2e", now=lambda: at_zero)
        assert elector.try_acquire_or_renew(10)  # create
        assert elector.try_acquire_or_renew(10)  # renewal: PUT with the read resourceVersion
        with Kube(cluster.api_client()) as kube:
            lease = kube.coordination.read_namespaced_lease("probe", NAMESPACE)
        assert lease.spec.holder_identity == "e2e"
        assert lease.spec.renew_time == at_zero
    finally:
        client.close()


def _counted_a_plan(service: ServiceProcess) -> None:
    """The service counted a round it planned (counted just after the plan is stored)."""
    wait_for(
        lambda: service.metric("scheduler_ext_plans_total", outcome="no_improvement"),
        lambda count: count >= 1,
        description="a planning round counted",
    )


def _leader(services: list[ServiceProcess]) -> list[float]:
    return [s.metric("scheduler_ext_leader") for s in services]


def test_one_replica_leads_and_plans_and_the_other_takes_over(
    cluster: KwokCluster, tmp_path: Path
) -> None:
    a = ServiceProcess(cluster.kubeconfig, free_port(), tmp_path / "a.log", env=_env("replica-a"))
    b = ServiceProcess(cluster.kubeconfig, free_port(), tmp_path / "b.log", env=_env("replica-b"))
    services = [a.start(), b.start()]
    with Kube(cluster.api_client()) as kube:
        box = Sandbox(kube, prefix="lead")
        try:
            for service in services:
                service.wait_ready()
            flags = wait_for(
                lambda: _leader(services),
                lambda leads: sorted(leads) == [0.0, 1.0],
                description="exactly one leader",
            )
            leader, follower = (a, b) if flags == [1.0, 0.0] else (b, a)
            identity = "replica-a" if leader is a else "replica-b"
            lease = kube.coordination.read_namespaced_lease("scheduler-ext", NAMESPACE)
            assert lease.spec.holder_identity == identity

            box.nodes(1, cpu="2", memory="4Gi")
            _unschedulable(kube, box, "huge")
            plan = _plan_for(leader, f"{box.namespace}/huge")
            # The follower serves the leader's plan from its own watch, and made none itself.
            assert _plan_for(follower, f"{box.namespace}/huge") == plan
            assert (
                sum(
                    follower.metric("scheduler_ext_plans_total", outcome=o)
                    for o in ("improves", "no_improvement", "failed")
                )
                == 0
            )
            _counted_a_plan(leader)
            assert _leader(services).count(1.0) == 1

            assert leader.process is not None
            leader.process.kill()  # no release: the follower waits out the lease
            killed = time.monotonic()
            wait_for(
                lambda: follower.metric("scheduler_ext_leader"),
                lambda flag: flag == 1.0,
                description="the follower leading",
                timeout=60,
            )
            took = time.monotonic() - killed
            sys.stdout.write(
                f"hand-over took {took:.1f}s (lease {LEASE['duration']}s + retry "
                f"{LEASE['retry']}s, plus jitter)\n"
            )
            lease = kube.coordination.read_namespaced_lease("scheduler-ext", NAMESPACE)
            assert lease.spec.holder_identity != identity
            assert lease.spec.lease_transitions >= 1

            # The new leader plans: a new unschedulable pod gets a plan from it.
            _unschedulable(kube, box, "huger")
            _plan_for(follower, f"{box.namespace}/huger")
            _counted_a_plan(follower)
        finally:
            for service in services:
                service.stop()
            box.cleanup()
