"""Whole plans keep the eviction rules: a pod the Eviction API would refuse to evict, or whose
controller would not bring it back elsewhere, is in no plan's moves or evictions, even when moving
it is the only way to place a higher-priority pod.

Each cluster is read from raw objects, as a snapshot is: n1 runs the candidate (600m), n2 a bare
pod (400m); the pending pod (700m, higher priority) fits only if the candidate moves to n2.
"""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from testkit import checker
from testkit.builders import api_node, api_pod, owner_reference

CANDIDATE = "default/web-1"
JOB = owner_reference("Job", "batch-1", uid="job-1")
STATEFUL = owner_reference("StatefulSet", "db", uid="sts-1")
REPLICA = owner_reference("ReplicaSet", "web-rs", uid="rs-1")
PVC_VOLUME = {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}}]}


def budget(name: str, *, allowed: int = 1, meta: Any = None, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "default", **(meta or {})},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"disruptionsAllowed": allowed, **status},
    }


def cluster(*budgets: dict[str, Any], owner: dict[str, Any] = REPLICA, spec: Any = None) -> Cluster:
    nodes = [
        api_node(name, allocatable={"cpu": "1", "memory": "4Gi", "pods": 10}, typed=True)
        for name in ("n1", "n2")
    ]
    pods = [
        api_pod(
            "web-1",
            node_name="n1",
            requests={"cpu": "600m"},
            priority=1,
            labels={"app": "web"},
            owner=owner,
            spec=spec,
            typed=True,
        ),
        api_pod("bare-1", node_name="n2", requests={"cpu": "400m"}, priority=1, typed=True),
        api_pod("urgent-1", requests={"cpu": "700m"}, priority=10, unschedulable=True, typed=True),
    ]
    return cluster_from_objects([*nodes, *pods, *budgets])


def disrupted(c: Cluster, options: PlanOptions | None = None) -> set[str]:
    options = options or PlanOptions(time_limit_seconds=2.0)
    plan = plan_to_dict(make_plan(c, options, isolate=False))
    checker.check_plan(
        c,
        plan,
        allow_local_storage=options.allow_local_storage,
        allow_pvc=options.allow_pvc,
        movable_owner_kinds=options.movable_owner_kinds,
    )
    spec = plan["spec"]
    return {m["pod"] for m in spec["moves"]} | {e["pod"] for e in spec["evictions"]}


def test_the_candidate_moves_when_nothing_forbids_it() -> None:
    assert disrupted(cluster(budget("web"))) == {CANDIDATE}
    assert disrupted(cluster(owner=STATEFUL)) == {CANDIDATE}


@pytest.mark.parametrize(
    "c",
    [
        pytest.param(cluster(budget("web"), budget("web-too")), id="two-budgets"),
        pytest.param(
            cluster(budget("web", meta={"generation": 2}, observedGeneration=1)),
            id="stale-budget",
        ),
        pytest.param(
            cluster(budget("web", disruptedPods={f"web-{i}": "t" for i in range(2001)})),
            id="budget-backlog",
        ),
        pytest.param(cluster(owner=JOB), id="job"),
        pytest.param(
            cluster(owner=owner_reference("Workflow", "wf", uid="wf-1")), id="custom-controller"
        ),
        pytest.param(
            cluster(
                owner=owner_reference("ReplicaSet", "rs", uid="rs-2", api_version="example.com/v1")
            ),
            id="replicaset-of-a-custom-group",
        ),
        pytest.param(cluster(spec={"schedulerName": "volcano"}), id="other-scheduler"),
        pytest.param(cluster(owner=STATEFUL, spec=PVC_VOLUME), id="statefulset-with-pvc"),
    ],
)
def test_the_candidate_is_never_disrupted(c: Cluster) -> None:
    assert disrupted(c) == set()


def test_switches_reach_the_plan() -> None:
    jobs = PlanOptions(time_limit_seconds=2.0, movable_owner_kinds=frozenset({"Job"}))
    assert disrupted(cluster(owner=JOB), jobs) == {CANDIDATE}
    custom = owner_reference("ReplicaSet", "rs", uid="rs-2", api_version="example.com/v1")
    listed = PlanOptions(
        time_limit_seconds=2.0, movable_owner_kinds=frozenset({"ReplicaSet.example.com"})
    )
    assert disrupted(cluster(owner=custom), listed) == {CANDIDATE}
    claims = PlanOptions(time_limit_seconds=2.0, allow_pvc=True)
    assert disrupted(cluster(owner=STATEFUL, spec=PVC_VOLUME), claims) == {CANDIDATE}


def test_the_plan_counts_the_pods_each_rule_keeps() -> None:
    c = cluster(budget("web"), budget("web-too"))
    plan = plan_to_dict(make_plan(c, PlanOptions(time_limit_seconds=2.0), isolate=False))
    kept = plan["status"]["diagnostics"]["immovable"]
    assert kept == {"two-budgets": 1, "no-controller": 1}  # web-1, and the bare pod on n2
