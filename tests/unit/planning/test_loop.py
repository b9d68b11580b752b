"""The planning loop: an Unschedulable pod starts a round (after the debounce), the plan is kept
and counted, a failing round does not end the loop, and a stable cluster is not replanned."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.config import PlanningSettings
from scheduler_ext.metrics import Metrics
from scheduler_ext.planning.history import PlanHistory
from scheduler_ext.planning.loop import PlanningLoop
from testkit.builders import api_node, api_pod, owner_reference
from testkit.checker import check_plan
from testkit.wait import wait_for

UNSCHEDULABLE = {
    "phase": "Pending",
    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
}


def node(name: str) -> dict[str, Any]:
    return api_node(name, allocatable={"cpu": "2", "memory": "4Gi", "pods": "10"})


def pod(name: str, cpu: str, priority: int, node_name: str | None) -> dict[str, Any]:
    return api_pod(
        name,
        namespace="apps",
        uid=f"uid-{name}",
        node_name=node_name,
        requests={"cpu": cpu},
        priority=priority,
        owner=owner_reference("ReplicaSet", f"rs-{name}", uid="rs"),
        unschedulable=node_name is None,
    )


def fragmented() -> ClusterStore:
    """Two 2-CPU nodes with 1 CPU used on each; a 2-CPU high-priority pod fits after one move."""
    store = ClusterStore()
    objects = {
        "Node": [node("n1"), node("n2")],
        "Pod": [
            pod("low-a", "1", 10, "n1"),
            pod("low-b", "1", 10, "n2"),
            pod("high", "2", 1000, None),
        ],
    }
    for kind in KINDS:
        store.replace(kind, objects.get(kind, []))
    return store


def make_loop(store: ClusterStore, **settings: Any) -> tuple[PlanningLoop, PlanHistory, Metrics]:
    history = PlanHistory(limit=3)
    metrics = Metrics(CollectorRegistry())
    options = PlanningSettings(**{"debounce_seconds": 0.05, "time_limit_seconds": 3, **settings})
    loop = PlanningLoop(
        store,
        history,
        metrics,
        options,
        debounce_seconds=options.debounce_seconds,
        start_method=options.start_method,
    )
    return loop, history, metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.mark.slow  # the round runs CP-SAT in a SolverWorker child process
@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_an_unschedulable_pod_gets_an_improving_plan_the_checker_accepts(
    start_method: str,
) -> None:
    store = fragmented()
    loop, history, metrics = make_loop(store, start_method=start_method)
    loop.start()
    try:
        plans = wait_for(history.list, bool, description="a plan", timeout=30)
    finally:
        loop.stop()
    [plan] = plans
    assert plan["status"]["improves"] is True
    assert plan["spec"]["bindings"] == [
        {"pod": "apps/high", "node": plan["spec"]["bindings"][0]["node"]}
    ]
    assert len(plan["spec"]["moves"]) == 1
    check_plan(store.snapshot(), plan)
    assert history.get(plan["metadata"]["name"]) == plan
    assert sample(metrics, "scheduler_ext_plans_total", outcome="improves") == 1
    assert sample(metrics, "scheduler_ext_plan_placeable_pods", priority="1000") == 1
    assert sample(metrics, "scheduler_ext_pending_pods", priority="1000") == 1
    assert loop.rounds == 1  # nothing changed afterwards: no second round


def test_a_failed_round_is_counted_and_the_next_change_plans_again() -> None:
    store = ClusterStore()
    for kind in KINDS:  # no nodes at all: the snapshot is refused
        store.replace(kind, [pod("high", "2", 1000, None)] if kind == "Pod" else [])
    loop, history, metrics = make_loop(store, solver="greedy")
    loop.start()
    try:
        wait_for(
            lambda: sample(metrics, "scheduler_ext_plans_total", outcome="failed"),
            lambda value: value == 1,
            description="a failed round",
        )
        store.apply("Node", "ADDED", node("n1"))
        plans = wait_for(history.list, bool, description="a plan after the node came")
    finally:
        loop.stop()
    assert plans[0]["spec"]["bindings"] == [{"pod": "apps/high", "node": "n1"}]
    assert sample(metrics, "scheduler_ext_plans_total", outcome="improves") == 1


def test_history_is_bounded_and_newest_first() -> None:
    store = fragmented()
    loop, history, _ = make_loop(store, solver="greedy")
    names = []
    for _ in range(4):
        plan = loop.plan_once()
        assert plan is not None
        names.append(plan["metadata"]["name"])
    assert [p["metadata"]["name"] for p in history.list()] == names[:0:-1]
    assert len(set(names)) == 4


def stage_samples(metrics: Metrics) -> dict[tuple[str, str], float]:
    """(solver stage, status) -> observations, read from the registry's own samples."""
    return {
        (sample.labels["solver"], sample.labels["status"]): sample.value
        for family in metrics.registry.collect()
        if family.name == "scheduler_ext_solve_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    }


@pytest.mark.slow  # the round runs CP-SAT in a child process
def test_solver_stages_are_counted_with_their_real_status() -> None:
    """CP-SAT's stages carry the status it reported (here proven optimal), not a catch-all."""
    # A cold spawned worker imports the solvers out of the budget: room for a loaded machine.
    loop, _, metrics = make_loop(
        fragmented(), solver="cpsat", start_method="spawn", time_limit_seconds=20
    )
    plan = loop.plan_once()
    assert plan is not None
    stages = {(s["name"], s["status"]) for s in plan["status"]["diagnostics"]["stages"]}
    assert ("disruption", "optimal") in stages, stages  # greedy placed the pod; CP-SAT proves
    counted = stage_samples(metrics)
    assert counted[("cpsat-disruption", "optimal")] == 1, counted
    assert counted[("greedy-spread", "done")] == counted[("greedy-pack", "done")] == 1, counted
    assert not any(solver.startswith("cpsat") and status == "done" for solver, status in counted)
    labels = {"solver": "cpsat-disruption", "status": "optimal"}
    assert sample(metrics, "scheduler_ext_solve_duration_seconds_count", **labels) == 1


@pytest.mark.slow  # starts solver worker processes
def test_a_worker_is_started_ahead_of_each_round() -> None:
    loop, _, _ = make_loop(fragmented(), start_method="spawn")
    loop.start()
    try:
        first = loop._spare
        assert first is not None  # started with the loop: the first round does not import
        wait_for(lambda: loop.rounds, lambda n: n >= 1, description="a round", timeout=60)
        wait_for(lambda: loop._spare, lambda w: w is not None and w is not first,
                 description="the next round's worker")  # fmt: skip
    finally:
        loop.stop()
    assert loop._spare is None


class Handler:
    def __init__(self) -> None:
        self.taken: list[tuple[str, int]] = []

    def busy(self) -> bool:
        return False

    def submit(self, plan: dict[str, Any], cluster: Any, *, triggered: float) -> bool:
        self.taken.append((plan["metadata"]["name"], len(cluster.pods)))
        return True


def test_enforce_mode_hands_an_improving_plan_on_a_fresh_state_over() -> None:
    store = fragmented()
    handler = Handler()
    history = PlanHistory()
    options = PlanningSettings(solver="greedy")
    loop = PlanningLoop(
        store,
        history,
        Metrics(CollectorRegistry()),
        options,
        debounce_seconds=0,
        start_method=options.start_method,
        handler=handler,
    )
    plan = loop.plan_once()
    assert plan is not None
    assert plan["status"]["improves"]
    assert handler.taken == [(plan["metadata"]["name"], 3)]


def test_a_stale_state_is_never_handed_over() -> None:
    store = ClusterStore(staleness=5.0, clock=lambda: 100.0)  # no watch ever heard: stale
    for kind in KINDS:
        store.replace(kind, [node("n1")] if kind == "Node" else [])
    handler = Handler()
    options = PlanningSettings(solver="greedy")
    loop = PlanningLoop(
        store,
        PlanHistory(),
        Metrics(CollectorRegistry()),
        options,
        debounce_seconds=0,
        start_method=options.start_method,
        handler=handler,
    )
    store.apply("Pod", "ADDED", pod("high", "1", 1000, None))
    plan = loop.plan_once()
    assert plan is not None
    assert plan["status"]["improves"]
    assert handler.taken == []
