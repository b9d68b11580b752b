"""Plans carried out on a real control plane: the real kube-scheduler, with the shipped
configuration of all four verbs, calls the service in enforce mode; the real
kube-controller-manager recreates evicted ReplicaSet pods and keeps PodDisruptionBudget status.

- (a) A pod left Pending by fragmentation runs after a plan moves a lower-priority ReplicaSet pod,
  and the moved pod's replacement runs on its planned node. No bare, DaemonSet or opted-out pod is
  touched (a Job's pod cannot be shown here: kwok completes it at once; the owner-kind rule is
  tested in tests/unit/model/test_movability.py).
- (b) A PodDisruptionBudget that allows no disruption is respected: the plan moves the other pod.
- (c) kube-scheduler's own preemption is replaced by a move: a high-priority pod that may preempt,
  and that a move places, runs with no pod killed (every lower-priority pod runs again, the
  moved one on its planned node).

Each test counts pods lost (a workload with fewer running pods than it asks for, a bare pod gone)
and budget violations (a covered pod evicted while its budget allowed none), asserts both are 0,
and logs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from testkit import builders
from testkit.cluster import KwokCluster, free_port
from testkit.enforce import deploy_on, finished_plan, pending_big, settled_lost, uids
from testkit.kube import Kube, is_running
from testkit.sandbox import Sandbox
from testkit.service import ServiceProcess, extender_config
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

logger = logging.getLogger(__name__)

Enforced = tuple[KwokCluster, ServiceProcess, Kube]
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"


@pytest.fixture(scope="module")
def enforced(
    cluster_factory: ClusterFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Enforced]:
    """A cluster whose kube-scheduler runs the shipped all-verbs configuration against the
    service, and the service in enforce mode."""
    port = free_port()
    cluster = cluster_factory(extender_config(port), prefix="enforce")
    log = tmp_path_factory.mktemp("enforce") / "service.log"
    env = {
        "SCHEDULER_EXT_MODE": "enforce",
        "SCHEDULER_EXT_EXECUTION__DEADLINE_SECONDS": "90",
        # A shared 2-core machine: a round must not spend its whole budget before searching.
        "SCHEDULER_EXT_PLANNING__TIME_LIMIT_SECONDS": "15",
    }
    service = ServiceProcess(cluster.kubeconfig, port, log, env=env).start()
    try:
        service.wait_ready()
        with Kube(cluster.api_client()) as kube:
            yield cluster, service, kube
    finally:
        service.stop()
        cluster_factory.delete(cluster)


def _annotated(manifest: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    manifest["spec"]["template"]["metadata"]["annotations"] = annotations
    return manifest


def test_a_fragmented_pending_pod_runs_after_a_move(enforced: Enforced) -> None:
    cluster, service, kube = enforced
    box = Sandbox(kube, prefix="move")
    try:
        n0, n1 = box.nodes(2, cpu="4", memory="8Gi")
        low = box.priority_class("low", 100)
        ns = box.namespace
        # One DaemonSet pod on each node, a bare pod on each, the movable pod on n0 and an
        # opted-out Deployment's pod on n1: each node has 1 CPU free, the 2-CPU pod fits none.
        # (No Job: kwok completes a Job's pods at once, and a finished pod holds no room.)
        kube.apps.create_namespaced_daemon_set(ns, _daemon_set("ds", ns, box.node_selector))
        kube.wait_running(ns, {"app": "ds"}, 2)
        for name, node in (("bare-a", n0), ("bare-b", n1)):
            bare = builders.pod(name, namespace=ns, requests={"cpu": "1"})
            bare["spec"]["nodeName"] = node
            kube.create(bare)
            kube.wait_running(ns, {"app": name}, 1)
        deploy_on(kube, box, "mover", n0, [n1], requests={"cpu": "1"}, priority_class_name=low)
        opted = builders.deployment(
            "opted",
            namespace=ns,
            replicas=1,
            node_selector=box.node_selector,
            requests={"cpu": "1"},
            priority_class_name=low,
        )
        kube.core.patch_node(n0, {"spec": {"unschedulable": True}})
        kube.create(_annotated(opted, {SAFE_TO_EVICT: "false"}))
        kube.wait_running(ns, {"app": "opted"}, 1)
        kube.core.patch_node(n0, {"spec": {"unschedulable": False}})
        before = uids(kube, ns)
        mover = next(name for name in before if name.startswith("mover-"))

        pending_big(kube, box, "2")
        plan = finished_plan(service, f"{ns}/big")
        assert plan["status"]["phase"] == "Completed", plan["status"]
        [binding] = plan["spec"]["bindings"]
        [move] = plan["spec"]["moves"]
        assert move["pod"] == f"{ns}/{mover}"
        assert (binding["node"], move["fromNode"], move["toNode"]) == (n0, n0, n1)
        assert plan["spec"]["evictions"] == []

        big = kube.wait_pod("big", ns, is_running, description="big running")
        assert big.spec.node_name == binding["node"]
        [replacement] = kube.wait_running(ns, {"app": "mover"}, 1)
        assert replacement.metadata.uid != before[mover][0]
        assert replacement.spec.node_name == move["toNode"]
        after = uids(kube, ns)
        untouched = [n for n in before if not n.startswith("mover-")]
        assert {n: after.get(n) for n in untouched} == {n: before[n] for n in untouched}
        moved = [line for line in kube.events(ns) if "to make room for" in line]
        assert f"moved to {n1} to make room for {ns}/big (plan {plan['metadata']['name']})" in (
            " ".join(moved)
        ), moved
        lost = settled_lost(kube, ns, ["bare-a", "bare-b"])
        violations = 0  # no budget here: nothing could be violated
        logger.info("move e2e: pods lost %d, PDB violations %d", lost, violations)
        assert (lost, violations) == (0, 0)
        # The outcome is counted, and the held-room gauge set, just after the phase is written
        # (which the plans API showed): waited for, not read at once.
        wait_for(
            lambda: service.metric(
                "scheduler_ext_plan_outcomes_total", outcome="completed", cause=""
            ),
            lambda completed: completed >= 1,
            description="the completed plan counted",
        )
        wait_for(
            lambda: service.metric("scheduler_ext_reservations_held"),
            lambda held: held == 0,
            description="no room left held",
        )
        del cluster
    finally:
        box.cleanup()


def test_a_budget_that_allows_no_disruption_is_respected(enforced: Enforced) -> None:
    cluster, service, kube = enforced
    box = Sandbox(kube, prefix="budget")
    try:
        n0, n1 = box.nodes(2, cpu="2", memory="4Gi")
        low = box.priority_class("low", 100)
        ns = box.namespace
        deploy_on(kube, box, "guarded", n0, [n1], requests={"cpu": "1"}, priority_class_name=low)
        deploy_on(kube, box, "free", n1, [n0], requests={"cpu": "1"}, priority_class_name=low)
        kube.create(
            builders.pdb("guarded", namespace=ns, match_labels={"app": "guarded"}, min_available=1)
        )
        kube.wait_pdb(
            "guarded",
            ns,
            lambda p: p.status.current_healthy == 1 and p.status.disruptions_allowed == 0,
            description="the budget counts its one pod and allows no disruption",
        )
        before = uids(kube, ns)
        guarded = next(name for name in before if name.startswith("guarded-"))

        pending_big(kube, box, "2")
        plan = finished_plan(service, f"{ns}/big")
        assert plan["status"]["phase"] == "Completed", plan["status"]
        assert [m["pod"].split("/")[1].split("-")[0] for m in plan["spec"]["moves"]] == ["free"]
        assert plan["spec"]["bindings"][0]["node"] == n1
        big = kube.wait_pod("big", ns, is_running, description="big running")
        assert big.spec.node_name == n1
        after = uids(kube, ns)
        violations = 0 if after.get(guarded) == before[guarded] else 1
        lost = settled_lost(kube, ns, [])
        logger.info("budget e2e: pods lost %d, PDB violations %d", lost, violations)
        assert (lost, violations) == (0, 0)
        del cluster
    finally:
        box.cleanup()


def test_kube_schedulers_preemption_is_replaced_by_a_move(enforced: Enforced) -> None:
    cluster, service, kube = enforced
    box = Sandbox(kube, prefix="preempt")
    try:
        n0, n1 = box.nodes(2, cpu="2", memory="4Gi")
        low = box.priority_class("low", 100)
        ns = box.namespace
        deploy_on(kube, box, "low-a", n0, [n1], requests={"cpu": "1"}, priority_class_name=low)
        deploy_on(kube, box, "low-b", n1, [n0], requests={"cpu": "1"}, priority_class_name=low)
        deferred = service.metric("scheduler_ext_preemptions_deferred_total")

        pending_big(kube, box, "2", preempts=True)  # kube-scheduler would kill one low pod
        plan = finished_plan(service, f"{ns}/big")
        assert plan["status"]["phase"] == "Completed", plan["status"]
        [move] = plan["spec"]["moves"]
        assert plan["spec"]["evictions"] == []
        big = kube.wait_pod("big", ns, is_running, description="big running")
        assert big.spec.node_name == plan["spec"]["bindings"][0]["node"]
        assert service.metric("scheduler_ext_preemptions_deferred_total") > deferred
        moved_app = move["pod"].split("/")[1].rsplit("-", 2)[0]
        [replacement] = kube.wait_running(ns, {"app": moved_app}, 1)
        assert replacement.spec.node_name == move["toNode"]
        lost = settled_lost(kube, ns, [])  # a kill would leave a low pod Pending: lost
        logger.info("preempt e2e: pods lost %d, PDB violations %d", lost, 0)
        assert lost == 0
        del cluster
    finally:
        box.cleanup()


def _daemon_set(name: str, namespace: str, selector: dict[str, str]) -> dict[str, Any]:
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": builders.pod_spec(requests={"cpu": "1"}, node_selector=selector),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
    }
