"""The extender service on a real control plane, with the real kube-scheduler calling it.

- A Deployment is scheduled through the service: every pod is bound by its bind verb.
- In a fragmented cluster a high-priority pod stays Pending; the service records a plan that
  places it, and the independent checker (testkit/checker.py) accepts it against the real state.
  That cluster's kube-scheduler runs the shipped dry-run configuration (prioritize and preempt);
  the others run the one with all four verbs.
- With the service down and ``ignorable: true``, scheduling goes on.
- After the control plane (kube-apiserver included) restarts, the watches recover and the verbs
  keep answering: a new Deployment is again scheduled through the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler_ext.cluster.client import read_cluster
from testkit import builders
from testkit.checker import check_plan
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube
from testkit.sandbox import Sandbox
from testkit.service import (
    ALL_VERBS_CONFIG,
    DRY_RUN_CONFIG,
    ServiceProcess,
    extender_config,
)
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

Served = tuple[KwokCluster, ServiceProcess, Kube]


def _serve(
    cluster_factory: ClusterFactory,
    tmp: Path,
    prefix: str,
    *,
    ignorable: bool = False,
    shipped: Path = ALL_VERBS_CONFIG,
) -> tuple[KwokCluster, ServiceProcess]:
    port = free_port()
    config = extender_config(port, ignorable=ignorable, shipped=shipped)
    cluster = cluster_factory(config, prefix=prefix)
    service = ServiceProcess(cluster.kubeconfig, port, tmp / f"{prefix}-service.log")
    return cluster, service


@pytest.fixture(scope="module")
def served(
    cluster_factory: ClusterFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A cluster whose kube-scheduler calls the service (not ignorable), and the service."""
    cluster, service = _serve(cluster_factory, tmp_path_factory.mktemp("svc"), "svc")
    service.start()
    try:
        service.wait_ready()
        with Kube(cluster.api_client()) as kube:
            yield cluster, service, kube
    finally:
        service.stop()
        cluster_factory.delete(cluster)


def _bound_by_service(service: ServiceProcess, pods: list[Any]) -> dict[str, str | None]:
    """Pod -> node the service's bind verb bound it to (from its log), for each pod."""
    log = service.log()
    found: dict[str, str | None] = {}
    for pod in pods:
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        match = re.search(rf"bound {re.escape(key)} to (\S+)", log)
        found[key] = match.group(1) if match else None
    return found


def _deploy_and_check_binds(service: ServiceProcess, kube: Kube, box: Sandbox, name: str) -> None:
    kube.create(
        builders.deployment(
            name,
            namespace=box.namespace,
            replicas=5,
            requests={"cpu": "500m", "memory": "256Mi"},
            node_selector=box.node_selector,
        )
    )
    pods = kube.wait_running(box.namespace, {"app": name}, 5, timeout=90)
    expected = {f"{p.metadata.namespace}/{p.metadata.name}": p.spec.node_name for p in pods}
    # The bind verb logs a bind once the API server's answer is back, which may be after the
    # pod was seen bound (and Running): wait for the log to say so; a pod it did not bind, or
    # bound elsewhere, never matches.
    wait_for(
        lambda: _bound_by_service(service, pods),
        lambda bound: bound == expected,
        description="every pod bound by the service's bind verb, to the node it runs on",
    )


def test_a_deployment_is_scheduled_through_the_extender(served: Served) -> None:
    _, service, kube = served
    box = Sandbox(kube, prefix="deploy")
    try:
        box.nodes(3, cpu="4", memory="8Gi")
        before = service.metric("scheduler_ext_binds_total", result="ok")
        _deploy_and_check_binds(service, kube, box, "web")
        # Counted after the bind verb's log line (the count, then its duration, as the verb
        # returns): waited for, as the log is.
        wait_for(
            lambda: service.metric("scheduler_ext_binds_total", result="ok"),
            lambda binds: binds >= before + 5,
            description="5 more binds counted",
        )
        calls = "scheduler_ext_verb_duration_seconds_count"
        wait_for(
            lambda: [service.metric(calls, verb=verb) for verb in ("filter", "bind")],
            lambda counts: min(counts) >= 5,
            description="5 filter and 5 bind calls timed",
        )
        assert (
            service.metric("scheduler_ext_verb_errors_total", verb="bind", reason="bind_failed")
            == 0
        )
    finally:
        box.cleanup()


def test_a_fragmented_cluster_gets_a_plan_the_checker_accepts(
    cluster_factory: ClusterFactory, tmp_path: Path
) -> None:
    """Two 2-CPU nodes each run one 1-CPU pod; a 2-CPU pod of higher priority (that may not
    preempt) stays Pending. Moving one pod frees a node: the service's plan must say so. The
    scheduler runs the shipped dry-run configuration (prioritize and preempt only): it binds
    the pods itself and calls prioritize."""
    cluster, service = _serve(cluster_factory, tmp_path, "frag", shipped=DRY_RUN_CONFIG)
    service.start()
    try:
        service.wait_ready()
        with Kube(cluster.api_client()) as kube:
            box = Sandbox(kube, prefix="frag")
            first, second = box.nodes(2, cpu="2", memory="4Gi")
            low = box.priority_class("low", 100)
            high = box.priority_class("high", 10_000, preemption_policy="Never")
            # Fragment on purpose: cordon one node while each low pod is placed.
            for name, cordoned in (("low-a", second), ("low-b", first)):
                kube.core.patch_node(cordoned, {"spec": {"unschedulable": True}})
                kube.create(
                    builders.deployment(
                        name,
                        namespace=box.namespace,
                        replicas=1,
                        requests={"cpu": "1"},
                        priority_class_name=low,
                        node_selector=box.node_selector,
                    )
                )
                kube.wait_running(box.namespace, {"app": name}, 1)
                kube.core.patch_node(cordoned, {"spec": {"unschedulable": False}})
            kube.create(
                builders.pod(
                    "big",
                    namespace=box.namespace,
                    requests={"cpu": "2"},
                    priority_class_name=high,
                    node_selector=box.node_selector,
                )
            )
            pending = kube.wait_pod(
                "big",
                box.namespace,
                lambda p: any(
                    c.type == "PodScheduled" and c.reason == "Unschedulable"
                    for c in p.status.conditions or []
                ),
                description="big Unschedulable",
            )
            assert pending.spec.node_name is None

            def latest() -> dict[str, Any] | None:
                items: list[dict[str, Any]] = service.get_json("/api/v1/plans")["items"]
                return items[0] if items else None

            plan = wait_for(
                latest,
                lambda p: p is not None and p["status"]["improves"],
                description="an improving plan",
                timeout=60,
            )
            assert plan is not None
            key = f"{box.namespace}/big"
            assert [b["pod"] for b in plan["spec"]["bindings"]] == [key]
            assert len(plan["spec"]["moves"]) == 1
            assert plan["spec"]["evictions"] == []
            assert kube.pod("big", box.namespace).spec.node_name is None  # dry-run: still Pending
            check_plan(read_cluster(str(cluster.kubeconfig)), plan)
            assert service.get_json(f"/api/v1/plans/{plan['metadata']['name']}") == plan
            # Both are set just after the plan is stored (which the plans API showed).
            wait_for(
                lambda: service.metric("scheduler_ext_plans_total", outcome="improves"),
                lambda rounds: rounds >= 1,
                description="the improving round counted",
            )
            wait_for(
                lambda: service.metric("scheduler_ext_plan_placeable_pods", priority="10000"),
                lambda placeable: placeable == 1,
                description="the big pod counted placeable",
            )
            # The dry-run configuration: a small pod (both nodes fit it) is scored by the
            # service and bound by kube-scheduler itself.
            kube.create(
                builders.pod(
                    "small",
                    namespace=box.namespace,
                    requests={"cpu": "100m"},
                    node_selector=box.node_selector,
                )
            )
            kube.wait_pod(
                "small", box.namespace, lambda p: bool(p.spec.node_name), description="small bound"
            )
            calls = "scheduler_ext_verb_duration_seconds_count"
            assert service.metric(calls, verb="prioritize") >= 1
            assert service.metric(calls, verb="filter") == service.metric(calls, verb="bind") == 0
    finally:
        service.stop()
        cluster_factory.delete(cluster)


def test_scheduling_goes_on_when_an_ignorable_extender_is_down(
    cluster_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster, _ = _serve(cluster_factory, tmp_path, "down", ignorable=True)
    try:  # the service is never started: nothing listens on its port
        with Kube(cluster.api_client()) as kube:
            box = Sandbox(kube, prefix="down")
            box.nodes(2, cpu="4")
            kube.create(
                builders.deployment(
                    "web",
                    namespace=box.namespace,
                    replicas=3,
                    requests={"cpu": "500m"},
                    node_selector=box.node_selector,
                )
            )
            kube.wait_running(box.namespace, {"app": "web"}, 3, timeout=90)
    finally:
        cluster_factory.delete(cluster)


def test_watches_recover_after_the_api_server_restarts(served: Served) -> None:
    cluster, service, kube = served
    restarts_before = sum(
        service.metric("scheduler_ext_watch_restarts_total", kind=kind)
        for kind in ("Node", "Pod", "PodDisruptionBudget", "PriorityClass", "Namespace")
    )
    cluster.kwokctl("stop", "cluster", timeout=120)
    status, _ = service.post(
        "/scheduler/filter", {"Pod": {"metadata": {"name": "x"}}, "NodeNames": []}
    )
    assert status == 200  # the service answers while the API server is down
    cluster.kwokctl("start", "cluster", timeout=120)
    cluster.wait_ready(timeout=120)
    wait_for(
        lambda: sum(
            service.metric("scheduler_ext_watch_restarts_total", kind=kind)
            for kind in ("Node", "Pod", "PodDisruptionBudget", "PriorityClass", "Namespace")
        ),
        lambda total: total > restarts_before,
        description="watch restarts counted",
    )
    service.wait_ready()
    box = Sandbox(kube, prefix="after")
    try:
        box.nodes(2, cpu="4", memory="8Gi")  # a node created after the restart: seen by a watch
        _deploy_and_check_binds(service, kube, box, "after")
    finally:
        box.cleanup()
