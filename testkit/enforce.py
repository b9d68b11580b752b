"""Shared steps of the enforce-mode end-to-end tests (``tests/e2e/test_execution*.py``): a
workload pinned where a test wants it, the Pending pod that triggers a plan, the plan's end as
the plans API serves it, a replica leading, killed, or taking a plan over, and the count of pods
lost every run must log and assert (0)."""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from testkit import builders
from testkit.kube import Kube, is_running
from testkit.sandbox import Sandbox
from testkit.service import ServiceProcess
from testkit.wait import wait_for

FINISHED = ("Completed", "Aborted")


def deploy_on(
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


def bare_on(kube: Kube, box: Sandbox, name: str, node: str, cpu: str) -> None:
    """A bare pod bound to ``node`` (never moved: nothing would recreate it), running."""
    bare = builders.pod(name, namespace=box.namespace, requests={"cpu": cpu})
    bare["spec"]["nodeName"] = node
    kube.create(bare)
    kube.wait_running(box.namespace, {"app": name}, 1)


def create_retrying(kube: Kube, manifest: dict[str, Any]) -> None:
    """The Priority admission plugin reads PriorityClasses from an informer: a class made a
    moment ago can still be unknown to it (403 "no PriorityClass with name ...")."""
    wait_for(
        lambda: kube.create(manifest),
        lambda created: created is not None,
        description=f"{manifest['metadata']['name']} created",
        retry=lambda exc: isinstance(exc, ApiException) and exc.status == 403,
    )


def pending_big(kube: Kube, box: Sandbox, cpu: str, *, preempts: bool = False) -> None:
    policy = {} if preempts else {"preemption_policy": "Never"}
    high = box.priority_class("high", 10_000, **policy)
    manifest = builders.pod(
        "big",
        namespace=box.namespace,
        requests={"cpu": cpu},
        priority_class_name=high,
        node_selector=box.node_selector,
    )
    create_retrying(kube, manifest)


def leading(service: ServiceProcess, timeout: float = 90) -> None:
    """Wait until ``service`` holds the Lease (its ``scheduler_ext_leader`` gauge says so)."""
    wait_for(
        lambda: service.metric("scheduler_ext_leader"),
        lambda flag: flag == 1.0,
        description=f"{service.log_path.stem} leading",
        timeout=timeout,
    )


def kill(service: ServiceProcess) -> None:
    """SIGKILL, as a crash would: no release, no abort (a running plan stays where it is)."""
    assert service.process is not None
    service.process.kill()
    service.process.wait(10)


def plans_for(service: ServiceProcess, pod: str) -> list[dict[str, Any]]:
    """The plans (newest first) that bind ``pod``."""
    items: list[dict[str, Any]] = service.get_json("/api/v1/plans")["items"]
    return [p for p in items if any(b["pod"] == pod for b in p["spec"]["bindings"])]


def plan_in(
    service: ServiceProcess, pod: str, phases: tuple[str, ...], timeout: float = 120
) -> dict[str, Any]:
    """The newest plan binding ``pod`` once it is in one of ``phases``."""
    seen: list[dict[str, Any]] = []

    def found() -> list[dict[str, Any]]:
        plans = plans_for(service, pod)
        seen[:] = plans[:2]
        return [p for p in plans if p["status"].get("phase") in phases]

    plans = wait_for(
        found,
        bool,
        description=f"a plan for {pod} in {' or '.join(phases)}",
        timeout=timeout,
        describe=lambda _: [
            (p["spec"], p["status"].get("phase"), p["status"].get("reason")) for p in seen
        ],
    )
    return plans[0]


def finished_plan(service: ServiceProcess, pod: str, timeout: float = 120) -> dict[str, Any]:
    return plan_in(service, pod, FINISHED, timeout)


def taken_over(service: ServiceProcess, pod: str, timeout: float = 90) -> dict[str, Any]:
    """The newest plan binding ``pod`` that ``service`` took over from another leader."""

    def resumed() -> list[dict[str, Any]]:
        return [
            p
            for p in plans_for(service, pod)
            if "leader changed mid-plan" in str(p["status"].get("reason"))
        ]

    return wait_for(resumed, bool, description=f"the plan for {pod} taken over", timeout=timeout)[0]


def uids(kube: Kube, namespace: str) -> dict[str, tuple[str, str]]:
    """Pod name -> (UID, node) of every pod in the namespace."""
    return {p.metadata.name: (p.metadata.uid, p.spec.node_name) for p in kube.pods(namespace)}


def pods_lost(kube: Kube, namespace: str, bare: list[str]) -> int:
    """Workload pods missing from what each Deployment and DaemonSet asks for, plus bare pods
    gone."""
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


def settled_lost(kube: Kube, namespace: str, bare: list[str], timeout: float = 60) -> int:
    return wait_for(
        lambda: pods_lost(kube, namespace, bare),
        lambda lost: lost == 0,
        description="every workload's pods running",
        timeout=timeout,
    )
