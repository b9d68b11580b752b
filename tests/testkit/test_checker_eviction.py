"""The independent checker's own eviction rules: which controllers bring a pod back elsewhere, which
scheduler places the replacement, and what the Eviction API lets through (one budget at most, a
current budget status, an unconfirmed-evictions backlog under its limit). The brute force, built
on the checker's rules, agrees."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from scheduler_ext.domain import Cluster, DisruptionBudget, LabelSelector, OwnerRef
from testkit.bruteforce import brute_force
from testkit.checker import budget_allowance, check_plan, immovable_reason
from testkit.factories import labels, node, plan_dict, pod

TIERS = [(10, 0, 1), (1, 2, 2)]
PVC = 'PersistentVolumeClaim volume "data"'


def cluster(*budgets: DisruptionBudget, **b_fields: Any) -> Cluster:
    """The pending 700m pod fits only once b-1 (400m, on n2) moves next to a-1 (600m, on n1)."""
    return Cluster(
        nodes=(node("n1", cpu=1000), node("n2", cpu=1000)),
        pods=(
            pod("a-1", 600, node="n1", priority=1, owner=None),
            pod("b-1", 400, node="n2", labels={"app": "b"}, **{"priority": 1, **b_fields}),
            pod("high-1", 700, priority=10),
        ),
        budgets=budgets,
    )


def move_b() -> dict[str, Any]:
    return plan_dict(
        moves=[("default/b-1", "n2", "n1")],
        bindings=[("default/high-1", "n2")],
        tiers=TIERS,
        improves=True,
    )


def budget(name: str, allowed: int = 1, **fields: Any) -> DisruptionBudget:
    return DisruptionBudget("default", name, LabelSelector(labels(app="b")), allowed, **fields)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"owner": OwnerRef("Job", "batch")}, "owner kind Job", id="job"),
        pytest.param({"owner": OwnerRef("Workflow", "wf")}, "owner kind Workflow", id="custom"),
        pytest.param({"scheduler_name": "volcano"}, "scheduler volcano", id="other-scheduler"),
        pytest.param({"volume_claims": (PVC,)}, "PersistentVolumeClaim", id="pvc"),
    ],
)
def test_rejects_moving_a_pod_its_controller_or_scheduler_would_not_bring_back(
    fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(AssertionError, match=reason):
        check_plan(cluster(**fields), move_b())


def test_the_switches() -> None:
    check_plan(cluster(owner=OwnerRef("StatefulSet", "db")), move_b())
    job = cluster(owner=OwnerRef("Job", "batch"))
    check_plan(job, move_b(), movable_owner_kinds=frozenset({"Job"}))
    with pytest.raises(AssertionError, match="owner kind ReplicaSet"):
        check_plan(cluster(), move_b(), movable_owner_kinds=frozenset({"Job"}))
    check_plan(cluster(volume_claims=(PVC,)), move_b(), allow_pvc=True)


def test_rejects_a_pod_under_two_budgets() -> None:
    with pytest.raises(AssertionError, match="2 PodDisruptionBudgets"):
        check_plan(cluster(budget("b"), budget("b-too")), move_b())
    check_plan(cluster(budget("b")), move_b())
    # The rule needs the budgets: without them the pod alone says nothing.
    b = cluster().pods[1]
    assert immovable_reason(b) is None
    assert immovable_reason(b, budgets=(budget("b"), budget("c"))) is not None


@pytest.mark.parametrize(
    ("b", "allowance"),
    [
        pytest.param(budget("b", 1), 1, id="current"),
        pytest.param(budget("b", 1, generation=2, observed_generation=1), 0, id="stale"),
        pytest.param(budget("b", 1, generation=2, observed_generation=2), 1, id="observed"),
        pytest.param(budget("b", -3), 0, id="negative"),
        pytest.param(budget("b", 9, disrupted_pods=2000), 1, id="backlog-at-limit"),
        pytest.param(budget("b", 9, disrupted_pods=2001), 0, id="backlog-over"),
    ],
)
def test_budget_allowance(b: DisruptionBudget, allowance: int) -> None:
    assert budget_allowance(b) == allowance
    if allowance == 0:
        with pytest.raises(AssertionError, match="allows 0 disruptions"):
            check_plan(cluster(b), move_b())
    else:
        check_plan(cluster(b), move_b())


@pytest.mark.parametrize(
    "budgets",
    [
        pytest.param((budget("b"), budget("b-too")), id="two-budgets"),
        pytest.param((budget("b", generation=2, observed_generation=1),), id="stale"),
    ],
)
def test_brute_force_keeps_the_same_rules(budgets: tuple[DisruptionBudget, ...]) -> None:
    free = cluster()
    assert brute_force(free).placement["default/b-1"] == "n1"  # moving b-1 is the optimum
    kept = dataclasses.replace(free, budgets=budgets)
    best = brute_force(kept)
    assert best.placement["default/b-1"] == "n2"
    assert best.placement["default/high-1"] is None


def test_a_replicaset_of_a_custom_group_is_not_a_replicaset() -> None:
    custom = OwnerRef("ReplicaSet", "rs", api_version="example.com/v1")
    with pytest.raises(AssertionError, match="owner kind ReplicaSet"):
        check_plan(cluster(owner=custom), move_b())
    check_plan(
        cluster(owner=custom), move_b(), movable_owner_kinds=frozenset({"ReplicaSet.example.com"})
    )
    check_plan(cluster(owner=OwnerRef("ReplicaSet", "rs", api_version="apps/v1")), move_b())
