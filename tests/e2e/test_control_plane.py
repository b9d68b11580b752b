"""Acceptance tests of the harness itself: the real kube-scheduler, kube-controller-manager and
kwok on a kwokctl cluster behave as the rest of the suite relies on."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from testkit import builders
from testkit.kube import condition, is_running, pod_summary
from testkit.sandbox import Sandbox
from testkit.wait import stays, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_scheduler_binds_every_replica_and_kwok_runs_them(sandbox: Sandbox) -> None:
    kube = sandbox.kube
    nodes = sandbox.nodes(3, cpu="2", memory="4Gi")
    kube.create(
        builders.deployment(
            "web",
            namespace=sandbox.namespace,
            replicas=5,
            requests={"cpu": "500m", "memory": "256Mi"},
            node_selector=sandbox.node_selector,
        )
    )

    pods = kube.wait_running(sandbox.namespace, {"app": "web"}, count=5)

    assert {p.spec.node_name for p in pods} <= set(nodes)
    for p in pods:
        scheduled = condition(p, "PodScheduled")
        assert scheduled is not None
        assert scheduled.status == "True", pod_summary(p)
    # 5 x 500m on 3 x 2 CPU: the default scheduler spreads them; no node is over-committed.
    per_node: dict[str, int] = {}
    for p in pods:
        per_node[p.spec.node_name] = per_node.get(p.spec.node_name, 0) + 500
    assert max(per_node.values()) <= 2000
    deployment = kube.wait_deployment_ready("web", sandbox.namespace, replicas=5)
    assert deployment.status.unavailable_replicas in (None, 0)


def test_eviction_respects_pdb_then_replicaset_replaces_the_pod(sandbox: Sandbox) -> None:
    kube = sandbox.kube
    sandbox.nodes(2, cpu="2")
    labels = {"app": "guarded"}
    kube.create(
        builders.deployment(
            "guarded",
            namespace=sandbox.namespace,
            replicas=2,
            requests={"cpu": "100m"},
            node_selector=sandbox.node_selector,
        )
    )
    pods = kube.wait_running(sandbox.namespace, labels, count=2)
    kube.create(
        builders.pdb("guard", namespace=sandbox.namespace, match_labels=labels, min_available=2)
    )
    kube.wait_pdb(
        "guard",
        sandbox.namespace,
        lambda p: p.status.current_healthy == 2 and p.status.disruptions_allowed == 0,
        description="2 healthy, no disruption allowed",
    )
    victim = pods[0]

    with pytest.raises(ApiException) as refused:
        kube.evict(victim.metadata.name, sandbox.namespace)
    assert refused.value.status == 429, refused.value.body
    assert kube.pod(victim.metadata.name, sandbox.namespace).metadata.deletion_timestamp is None

    kube.policy.patch_namespaced_pod_disruption_budget(
        "guard", sandbox.namespace, {"spec": {"minAvailable": 1}}
    )
    kube.wait_pdb(
        "guard",
        sandbox.namespace,
        lambda p: p.status.disruptions_allowed == 1,
        description="one disruption allowed after minAvailable=1",
    )
    kube.evict(victim.metadata.name, sandbox.namespace)

    kube.wait_pod_gone(victim.metadata.name, sandbox.namespace, victim.metadata.uid)
    after = kube.wait_running(sandbox.namespace, labels, count=2)
    names = {p.metadata.name for p in after}
    assert victim.metadata.name not in names
    assert pods[1].metadata.name in names
    owners = {ref.name for p in after for ref in (p.metadata.owner_references or [])}
    assert len(owners) == 1, owners  # the replacement comes from the same ReplicaSet


def test_pod_that_fits_no_node_stays_pending_unschedulable(sandbox: Sandbox) -> None:
    kube = sandbox.kube
    sandbox.nodes(2, cpu="2", memory="4Gi")
    kube.create(
        builders.pod(
            "too-big",
            namespace=sandbox.namespace,
            requests={"cpu": "3"},
            node_selector=sandbox.node_selector,
        )
    )

    def unschedulable(p: Any) -> bool:
        cond = condition(p, "PodScheduled")
        return cond is not None and cond.status == "False" and cond.reason == "Unschedulable"

    pod = kube.wait_pod(
        "too-big", sandbox.namespace, unschedulable, description="PodScheduled=False/Unschedulable"
    )
    scheduled = condition(pod, "PodScheduled")
    assert scheduled is not None
    assert "Insufficient cpu" in scheduled.message, scheduled.message
    # ... and it stays so: not bound later, not marked for deletion.
    stays(
        lambda: kube.pod("too-big", sandbox.namespace),
        lambda p: p.status.phase == "Pending" and not p.spec.node_name and unschedulable(p),
        description="Pending, unbound, Unschedulable",
        duration=3.0,
        describe=pod_summary,
    )


def test_default_scheduler_preempts_lower_priority_pod(sandbox: Sandbox) -> None:
    kube = sandbox.kube
    (node,) = sandbox.nodes(1, cpu="2", memory="4Gi")
    low = sandbox.priority_class("low", 100)
    high = sandbox.priority_class("high", 1000)
    kube.create(
        builders.pod(
            "low",
            namespace=sandbox.namespace,
            requests={"cpu": "1500m"},
            priority_class_name=low,
            node_selector=sandbox.node_selector,
        )
    )
    victim = kube.wait_pod("low", sandbox.namespace, is_running, description="Running")
    assert victim.spec.node_name == node
    assert victim.spec.priority == 100

    kube.create(
        builders.pod(
            "high",
            namespace=sandbox.namespace,
            requests={"cpu": "1500m"},
            priority_class_name=high,
            node_selector=sandbox.node_selector,
        )
    )

    winner = kube.wait_pod("high", sandbox.namespace, is_running, description="Running")
    assert winner.spec.node_name == node
    assert winner.spec.priority == 1000
    kube.wait_pod_gone("low", sandbox.namespace, victim.metadata.uid)
    # The scheduler's event recorder writes asynchronously: wait for the event too.
    wait_for(
        lambda: kube.events(sandbox.namespace, "low"),
        lambda events: any(" Preempted: " in e for e in events),
        description="a Preempted event on the victim",
        timeout=60,
    )
