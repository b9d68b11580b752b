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
from kubernetes.client.exceptions import ApiException

from testkit import builders
from testkit.cluster import KwokCluster, free_port
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


def _deploy_on(
    kube: Kube, box: Sandbox, name: str, node: str, others: list[str], **spec: Any
) -> None:
    """A one-replica Deployment whose pod lands on ``node`` (the ``others`` cordoned meanwhile),
    free to move afterwards."""
    for other in others:
        kube.core.patch_node(other, {"spec": {"unschedulable": True}})
    try:
        kube.create(
            builders.deployment(
                name, namespace=box.namespace, replicas=1, node_selector=box.node_selector, **spec
            )
        )
        [pod] = kube.wait_running(box.namespace, {"app": name}, 1)
        assert pod.spec.node_name == node
    finally:
        for other in others:
            kube.core.patch_node(other, {"spec": {"unschedulable": False}})


def _annotated(manifest: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    manifest["spec"]["template"]["metadata"]["annotations"] = annotations
    return manifest


def _pending_big(kube: Kube, box: Sandbox, cpu: str, *, preempts: bool = False) -> None:
    policy = {} if preempts else {"preemption_policy": "Never"}
    high = box.priority_class("high", 10_000, **policy)
    manifest = builders.pod(
        "big",
        namespace=box.namespace,
        requests={"cpu": cpu},
        priority_class_name=high,
        node_selector=box.node_selector,
    )
    # The Priority admission plugin reads PriorityClasses from an informer: a class made a moment
    # ago can still be unknown to it (403 "no PriorityClass with name ...").
    wait_for(
        lambda: kube.create(manifest),
        lambda created: created is not None,
        description="the pending pod created",
        retry=lambda exc: isinstance(exc, ApiException) and exc.status == 403,
    )


def _finished_plan(service: ServiceProcess, pod: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def plans() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = service.get_json("/api/v1/plans")["items"]
        seen[:] = items[:2]
        return [
            p
            for p in items
            if any(b["pod"] == pod for b in p["spec"]["bindings"])
            and p["status"].get("phase") in ("Completed", "Aborted")
        ]

    found = wait_for(
        plans,
        bool,
        description=f"a finished plan for {pod}",
        timeout=120,
        describe=lambda _: [(p["spec"], p["status"]) for p in seen],
    )
    return found[-1]


def _uids(kube: Kube, namespace: str) -> dict[str, tuple[str, str]]:
    """Pod name -> (UID, node) of every pod in the namespace."""
    return {p.metadata.name: (p.metadata.uid, p.spec.node_name) for p in kube.pods(namespace)}


def _pods_lost(kube: Kube, namespace: str, bare: list[str]) -> int:
    """Workload pods missing from what each Deployment, DaemonSet and Job asks for, plus bare
    pods gone."""
    lost = 0
    for deployment in kube.apps.list_namespaced_deployment(namespace).items:
        ready = deployment.status.ready_replicas or 0
        lost += max(0, deployment.spec.replicas - ready)
    for daemon_set in kube.apps.list_namespaced_daemon_set(namespace).items:
        status = daemon_set.status
        lost += max(0, status.desired_number_scheduled - (status.number_ready or 0))
    names = {p.metadata.name for p in kube.pods(namespace) if is_running(p)}
    lost += sum(1 for name in bare if name not in names)
    return lost


def _settled_lost(kube: Kube, namespace: str, bare: list[str]) -> int:
    return wait_for(
        lambda: _pods_lost(kube, namespace, bare),
        lambda lost: lost == 0,
        description="every workload's pods running",
        timeout=60,
    )


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
        _deploy_on(kube, box, "mover", n0, [n1], requests={"cpu": "1"}, priority_class_name=low)
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
        before = _uids(kube, ns)
        mover = next(name for name in before if name.startswith("mover-"))

        _pending_big(kube, box, "2")
        plan = _finished_plan(service, f"{ns}/big")
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
        after = _uids(kube, ns)
        untouched = [n for n in before if not n.startswith("mover-")]
        assert {n: after.get(n) for n in untouched} == {n: before[n] for n in untouched}
        moved = [line for line in kube.events(ns) if "to make room for" in line]
        assert f"moved to {n1} to make room for {ns}/big (plan {plan['metadata']['name']})" in (
            " ".join(moved)
        ), moved
        lost = _settled_lost(kube, ns, ["bare-a", "bare-b"])
        violations = 0  # no budget here: nothing could be violated
        logger.info("move e2e: pods lost %d, PDB violations %d", lost, violations)
        assert (lost, violations) == (0, 0)
        assert (
            service.metric("scheduler_ext_plan_outcomes_total", outcome="completed", cause="") >= 1
        )
        assert service.metric("scheduler_ext_reservations_held") == 0
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
        _deploy_on(kube, box, "guarded", n0, [n1], requests={"cpu": "1"}, priority_class_name=low)
        _deploy_on(kube, box, "free", n1, [n0], requests={"cpu": "1"}, priority_class_name=low)
        kube.create(
            builders.pdb("guarded", namespace=ns, match_labels={"app": "guarded"}, min_available=1)
        )
        kube.wait_pdb(
            "guarded",
            ns,
            lambda p: p.status.current_healthy == 1 and p.status.disruptions_allowed == 0,
            description="the budget counts its one pod and allows no disruption",
        )
        before = _uids(kube, ns)
        guarded = next(name for name in before if name.startswith("guarded-"))

        _pending_big(kube, box, "2")
        plan = _finished_plan(service, f"{ns}/big")
        assert plan["status"]["phase"] == "Completed", plan["status"]
        assert [m["pod"].split("/")[1].split("-")[0] for m in plan["spec"]["moves"]] == ["free"]
        assert plan["spec"]["bindings"][0]["node"] == n1
        big = kube.wait_pod("big", ns, is_running, description="big running")
        assert big.spec.node_name == n1
        after = _uids(kube, ns)
        violations = 0 if after.get(guarded) == before[guarded] else 1
        lost = _settled_lost(kube, ns, [])
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
        _deploy_on(kube, box, "low-a", n0, [n1], requests={"cpu": "1"}, priority_class_name=low)
        _deploy_on(kube, box, "low-b", n1, [n0], requests={"cpu": "1"}, priority_class_name=low)
        deferred = service.metric("scheduler_ext_preemptions_deferred_total")

        _pending_big(kube, box, "2", preempts=True)  # kube-scheduler would kill one low pod
        plan = _finished_plan(service, f"{ns}/big")
        assert plan["status"]["phase"] == "Completed", plan["status"]
        [move] = plan["spec"]["moves"]
        assert plan["spec"]["evictions"] == []
        big = kube.wait_pod("big", ns, is_running, description="big running")
        assert big.spec.node_name == plan["spec"]["bindings"][0]["node"]
        assert service.metric("scheduler_ext_preemptions_deferred_total") > deferred
        moved_app = move["pod"].split("/")[1].rsplit("-", 2)[0]
        [replacement] = kube.wait_running(ns, {"app": moved_app}, 1)
        assert replacement.spec.node_name == move["toNode"]
        lost = _settled_lost(kube, ns, [])  # a kill would leave a low pod Pending: lost
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
