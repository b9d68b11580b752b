"""The independent plan checker rejects every kind of bad plan and accepts a good one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from scheduler_ext.domain import (
    Cluster,
    DisruptionBudget,
    LabelSelector,
    Namespace,
    NodeSelectorTerm,
    OwnerRef,
    PodAffinityTerm,
    Requirement,
    Taint,
    Toleration,
)
from testkit.checker import check_plan
from testkit.factories import labels, node, one_move_cluster, plan_dict, pod

GOOD_TIERS = [(10, 0, 1), (1, 2, 2)]


def good_plan(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "moves": [("default/b-1", "n2", "n1")],
        "bindings": [("default/high-1", "n2")],
        "tiers": GOOD_TIERS,
        "improves": True,
    }
    args.update(overrides)
    return plan_dict(**args)


def test_accepts_a_good_plan() -> None:
    result = check_plan(one_move_cluster(), good_plan())
    assert result.priorities == (10, 1)
    assert result.before == (0, 2)
    assert result.after == (1, 2)
    assert (result.disturbed, result.evictions) == (1, 0)
    assert result.objective == (1, 2, -1, 0)
    assert result.improves


def test_accepts_doing_nothing() -> None:
    result = check_plan(
        one_move_cluster(), plan_dict(tiers=[(10, 0, 0), (1, 2, 2)], unplanned=["default/high-1"])
    )
    assert result.objective == (0, 2, 0, 0)
    assert not result.improves


def test_rejects_an_overcommitted_node() -> None:
    plan = plan_dict(bindings=[("default/high-1", "n1")], tiers=GOOD_TIERS, improves=True)
    with pytest.raises(AssertionError, match=r"n1: cpu 1300 > allocatable 1000"):
        check_plan(one_move_cluster(), plan)


def test_rejects_too_many_pods_on_a_node() -> None:
    cluster = dataclasses.replace(
        one_move_cluster(), nodes=(node("n1", cpu=1000), node("n2", cpu=5000, pods=1), node("n3"))
    )
    plan = plan_dict(bindings=[("default/high-1", "n2")], tiers=GOOD_TIERS, improves=True)
    with pytest.raises(AssertionError, match=r"2 pods > allocatable pods 1"):
        check_plan(cluster, plan)


def test_rejects_a_missing_extended_resource() -> None:
    cluster = Cluster(
        nodes=(node("n1"), node("gpu", extra={"nvidia.com/gpu": 1})),
        pods=(pod("train-1", extra={"nvidia.com/gpu": 2}, priority=5),),
    )
    plan = plan_dict(bindings=[("default/train-1", "gpu")], tiers=[(5, 0, 1)], improves=True)
    with pytest.raises(AssertionError, match=r"nvidia.com/gpu 2 > allocatable 1"):
        check_plan(cluster, plan)
    plan = plan_dict(bindings=[("default/train-1", "n1")], tiers=[(5, 0, 1)], improves=True)
    with pytest.raises(AssertionError, match=r"nvidia.com/gpu 2 > allocatable 0"):
        check_plan(cluster, plan)


IMMOVABLE: list[Any] = [
    pytest.param({"annotations": {"kubernetes.io/config.mirror": "x"}}, "mirror", id="mirror"),
    pytest.param({"owner": OwnerRef("DaemonSet", "ds")}, "DaemonSet", id="daemonset"),
    pytest.param({"owner": None}, "bare pod", id="bare"),
    pytest.param({"terminating": True}, "terminating", id="terminating"),
    pytest.param({"namespace": "kube-system"}, "kube-system", id="kube-system"),
    pytest.param({"priority": 2_000_000_000}, "system-critical", id="critical-priority"),
    pytest.param(
        {"priority_class_name": "system-node-critical"}, "system-critical", id="critical-class"
    ),
    pytest.param({"local_storage": True}, "local storage", id="local-storage"),
    pytest.param(
        {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}},
        "safe-to-evict",
        id="safe-to-evict",
    ),
    pytest.param(
        {"annotations": {"karpenter.sh/do-not-disrupt": "true"}}, "do-not-disrupt", id="karpenter"
    ),
    pytest.param(
        {"annotations": {"descheduler.alpha.kubernetes.io/prefer-no-eviction": ""}},
        "prefer-no-eviction",
        id="descheduler",
    ),
    pytest.param({"unmodelled": "pod affinity"}, "unmodelled", id="unmodelled"),
]


@pytest.mark.parametrize(("fields", "reason"), IMMOVABLE)
def test_rejects_moving_an_immovable_pod(fields: dict[str, Any], reason: str) -> None:
    cluster = one_move_cluster(**fields)
    b = next(p for p in cluster.pods if p.name == "b-1")
    plan = good_plan(moves=[(b.key, "n2", "n1")])  # placement is checked before the counts
    with pytest.raises(AssertionError, match=reason):
        check_plan(cluster, plan)


def test_rejects_evicting_an_immovable_pod() -> None:
    plan = plan_dict(
        evictions=[("default/b-1", "n2")], tiers=[(10, 0, 1), (1, 2, 1)], improves=True
    )
    plan["spec"]["bindings"] = [{"pod": "default/high-1", "node": "n2"}]
    with pytest.raises(AssertionError, match="DaemonSet"):
        check_plan(one_move_cluster(owner=OwnerRef("DaemonSet", "ds")), plan)
    check_plan(one_move_cluster(), plan)  # the same plan with a movable pod is fine


def test_local_storage_may_move_when_allowed() -> None:
    check_plan(one_move_cluster(local_storage=True), good_plan(), allow_local_storage=True)


def test_rejects_exceeding_a_disruption_budget() -> None:
    def with_budget(selector: LabelSelector | None, allowed: int) -> Cluster:
        budget = DisruptionBudget("default", "pdb", selector, allowed)
        return dataclasses.replace(one_move_cluster(), budgets=(budget,))

    by_app = LabelSelector(match_labels=labels(app="b"))
    with pytest.raises(AssertionError, match="PDB default/pdb allows 0"):
        check_plan(with_budget(by_app, 0), good_plan())
    with pytest.raises(AssertionError, match="PDB default/pdb allows 0"):
        check_plan(with_budget(LabelSelector(), 0), good_plan())  # empty selector: every pod
    exprs = LabelSelector(match_expressions=(Requirement("app", "In", ("b", "c")),))
    with pytest.raises(AssertionError, match="PDB default/pdb allows 0"):
        check_plan(with_budget(exprs, 0), good_plan())
    check_plan(with_budget(by_app, 1), good_plan())
    check_plan(with_budget(None, 0), good_plan())  # no selector: covers nothing
    check_plan(with_budget(LabelSelector(match_labels=labels(app="a")), 0), good_plan())
    other_ns = DisruptionBudget("other", "pdb", LabelSelector(), 0)
    check_plan(dataclasses.replace(one_move_cluster(), budgets=(other_ns,)), good_plan())


def test_rejects_exceeding_max_disruptions() -> None:
    with pytest.raises(AssertionError, match="1 disruptions > max_disruptions 0"):
        check_plan(one_move_cluster(), good_plan(), max_disruptions=0)
    check_plan(one_move_cluster(), good_plan(), max_disruptions=1)


def test_rejects_an_untolerated_taint() -> None:
    plan = plan_dict(bindings=[("default/high-1", "n3")], tiers=GOOD_TIERS, improves=True)
    with pytest.raises(AssertionError, match="untolerated taint dedicated=batch:NoSchedule"):
        check_plan(one_move_cluster(), plan)
    tolerant = [
        p if p.name != "high-1" else dataclasses.replace(p, tolerations=(toleration,))
        for toleration in [Toleration("dedicated", "Equal", "batch", "NoSchedule")]
        for p in one_move_cluster().pods
    ]
    check_plan(dataclasses.replace(one_move_cluster(), pods=tuple(tolerant)), plan)
    wrong_value = [
        p
        if p.name != "high-1"
        else dataclasses.replace(p, tolerations=(Toleration("dedicated", "Equal", "gpu"),))
        for p in one_move_cluster().pods
    ]
    with pytest.raises(AssertionError, match="untolerated taint"):
        check_plan(dataclasses.replace(one_move_cluster(), pods=tuple(wrong_value)), plan)


def test_prefer_no_schedule_taint_does_not_block() -> None:
    cluster = dataclasses.replace(
        one_move_cluster(),
        nodes=(
            node("n1", cpu=1000),
            node("n2", cpu=1000),
            node("n3", cpu=1000, taints=[Taint("dedicated", "batch", "PreferNoSchedule")]),
        ),
    )
    plan = plan_dict(bindings=[("default/high-1", "n3")], tiers=GOOD_TIERS, improves=True)
    check_plan(cluster, plan)


@pytest.mark.parametrize(
    ("n3", "pod_fields", "message"),
    [
        pytest.param({"ready": False}, {}, "not Ready", id="not-ready"),
        pytest.param({"unschedulable": True}, {}, "unschedulable", id="cordoned"),
        pytest.param({}, {"node_selector": labels(disk="ssd")}, "nodeSelector", id="selector"),
        pytest.param(
            {},
            {
                "required_node_affinity": (
                    NodeSelectorTerm(match_expressions=(Requirement("zone", "In", ("b",)),)),
                )
            },
            "required node affinity",
            id="affinity",
        ),
        pytest.param(
            {},
            {
                "required_node_affinity": (
                    NodeSelectorTerm(match_fields=(Requirement("metadata.name", "In", ("n1",)),)),
                )
            },
            "required node affinity",
            id="affinity-fields",
        ),
    ],
)
def test_rejects_a_node_the_pod_may_not_use(
    n3: dict[str, Any], pod_fields: dict[str, Any], message: str
) -> None:
    cluster = one_move_cluster()
    nodes = (*cluster.nodes[:2], node("n3", cpu=1000, labels={"zone": "a"}, **n3))
    pods = tuple(
        dataclasses.replace(p, **pod_fields) if p.name == "high-1" else p for p in cluster.pods
    )
    plan = plan_dict(bindings=[("default/high-1", "n3")], tiers=GOOD_TIERS, improves=True)
    with pytest.raises(AssertionError, match=message):
        check_plan(dataclasses.replace(cluster, nodes=nodes, pods=pods), plan)
    plain = node("n3", cpu=1000, labels={"zone": "a"})
    check_plan(dataclasses.replace(cluster, nodes=(*nodes[:2], plain)), plan)


@pytest.mark.parametrize(
    ("n3", "toleration"),
    [
        pytest.param({"unschedulable": True}, Toleration(operator="Exists"), id="cordoned-all"),
        pytest.param(
            {"unschedulable": True},
            Toleration("node.kubernetes.io/unschedulable", "Exists", effect="NoSchedule"),
            id="cordoned",
        ),
        pytest.param(
            {"ready": False},
            Toleration("node.kubernetes.io/not-ready", "Exists"),
            id="not-ready",
        ),
    ],
)
def test_tolerating_the_node_condition_taint_admits_the_pod(
    n3: dict[str, Any], toleration: Toleration
) -> None:
    cluster = one_move_cluster()
    nodes = (*cluster.nodes[:2], node("n3", cpu=1000, **n3))
    pods = tuple(
        dataclasses.replace(p, tolerations=(toleration,)) if p.name == "high-1" else p
        for p in cluster.pods
    )
    plan = plan_dict(bindings=[("default/high-1", "n3")], tiers=GOOD_TIERS, improves=True)
    check_plan(dataclasses.replace(cluster, nodes=nodes, pods=pods), plan)
    wrong = Toleration("node.kubernetes.io/other", "Exists")
    pods = tuple(
        dataclasses.replace(p, tolerations=(wrong,)) if p.name == "high-1" else p
        for p in cluster.pods
    )
    with pytest.raises(AssertionError, match="cannot land"):
        check_plan(dataclasses.replace(cluster, nodes=nodes, pods=pods), plan)


def test_node_affinity_terms_are_ored() -> None:
    cluster = one_move_cluster()
    nodes = (*cluster.nodes[:2], node("n3", cpu=1000, labels={"zone": "a"}))
    terms = (
        NodeSelectorTerm(match_expressions=(Requirement("zone", "In", ("b",)),)),
        NodeSelectorTerm(match_expressions=(Requirement("zone", "Exists"),)),
    )
    pods = tuple(
        dataclasses.replace(p, required_node_affinity=terms) if p.name == "high-1" else p
        for p in cluster.pods
    )
    plan = plan_dict(bindings=[("default/high-1", "n3")], tiers=GOOD_TIERS, improves=True)
    check_plan(dataclasses.replace(cluster, nodes=nodes, pods=pods), plan)


def test_rejects_a_host_port_clash() -> None:
    cluster = Cluster(
        nodes=(node("n1"),),
        pods=(pod("web-1", node="n1", host_ports=[8080]), pod("web-2", host_ports=[8080])),
    )
    plan = plan_dict(bindings=[("default/web-2", "n1")], tiers=[(0, 1, 2)], improves=True)
    with pytest.raises(AssertionError, match="host port 8080/TCP"):
        check_plan(cluster, plan)


def test_rejects_an_anti_affinity_clash() -> None:
    term = PodAffinityTerm(
        selector=LabelSelector(match_labels=labels(app="db")),
        topology_key="kubernetes.io/hostname",
        namespaces=(),
    )
    cluster = Cluster(
        nodes=(node("n1"), node("n2")),
        pods=(
            pod("db-1", node="n1", labels={"app": "db"}, anti_affinity=(term,)),
            pod("db-2", labels={"app": "db"}),
        ),
        namespaces=(Namespace("default"),),
    )
    plan = plan_dict(bindings=[("default/db-2", "n1")], tiers=[(0, 1, 2)], improves=True)
    with pytest.raises(AssertionError, match="anti-affinity of default/db-1"):
        check_plan(cluster, plan)
    plan = plan_dict(bindings=[("default/db-2", "n2")], tiers=[(0, 1, 2)], improves=True)
    check_plan(cluster, plan)


def test_rejects_binding_a_bound_pod() -> None:
    plan = good_plan(bindings=[("default/high-1", "n2"), ("default/a-1", "n2")])
    with pytest.raises(AssertionError, match="binding of default/a-1, already bound to n1"):
        check_plan(one_move_cluster(), plan)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"moves": [("default/high-1", "n2", "n1")], "bindings": []},
            "move of pending",
            id="pending",
        ),
        pytest.param({"moves": [("default/b-1", "n1", "n3")]}, "but it runs on n2", id="from"),
        pytest.param({"moves": [("default/b-1", "n2", "n2")]}, "to the node it is on", id="same"),
        pytest.param({"moves": [("default/b-1", "n2", "n9")]}, "unknown node n9", id="node"),
        pytest.param({"bindings": [("default/nope", "n2")]}, "unknown pod default/nope", id="pod"),
        pytest.param(
            {"evictions": [("default/b-1", "n2")]}, "more than once", id="moved-and-evicted"
        ),
        pytest.param({"evictions": [("default/a-1", "n2")]}, "but it runs on n1", id="evict-node"),
        pytest.param({"unplanned": ["default/high-1"]}, "both planned and unplanned", id="unpl"),
    ],
)
def test_rejects_malformed_plans(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_plan(one_move_cluster(), good_plan(**overrides))


def test_rejects_binding_an_unmodelled_pod_and_requires_it_unplanned() -> None:
    cluster = one_move_cluster()
    pods = tuple(
        dataclasses.replace(p, unmodelled="pod affinity") if p.name == "high-1" else p
        for p in cluster.pods
    )
    cluster = dataclasses.replace(cluster, pods=pods)
    with pytest.raises(AssertionError, match=r"default/high-1 bound although unmodelled"):
        check_plan(cluster, good_plan())
    with pytest.raises(AssertionError, match="missing from unplanned"):
        check_plan(cluster, plan_dict(tiers=[(10, 0, 0), (1, 2, 2)]))
    check_plan(cluster, plan_dict(tiers=[(10, 0, 0), (1, 2, 2)], unplanned=["default/high-1"]))


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        pytest.param([(10, 0, 0), (1, 2, 2)], r"priority 10: plan says .* \(0, 0\)", id="after"),
        pytest.param([(10, 1, 1), (1, 2, 2)], r"priority 10: plan says .* \(1, 1\)", id="before"),
        pytest.param([(10, 0, 1)], "priority 1 .* missing", id="missing"),
        pytest.param([(1, 2, 2), (10, 0, 1)], "not strictly descending", id="order"),
        pytest.param([(10, 0, 1), (5, 1, 1), (1, 2, 2)], r"priority 5: plan says", id="extra"),
    ],
)
def test_rejects_wrong_counts(tiers: list[tuple[int, int, int]], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_plan(one_move_cluster(), good_plan(tiers=tiers))


def test_rejects_a_wrong_improves_flag() -> None:
    with pytest.raises(AssertionError, match=r"status\.improves is False, recomputed True"):
        check_plan(one_move_cluster(), good_plan(improves=False))


def test_rejects_a_plan_worse_than_the_current_placement() -> None:
    plan = plan_dict(evictions=[("default/a-1", "n1")], tiers=[(10, 0, 0), (1, 2, 1)])
    with pytest.raises(AssertionError, match="worse than the current placement"):
        check_plan(one_move_cluster(), plan)


def test_rejects_trading_a_high_priority_pod_for_low_ones() -> None:
    cluster = Cluster(
        nodes=(node("n1", cpu=1000),),
        pods=(
            pod("high-1", 900, node="n1", priority=10),
            pod("low-1", 400, priority=1),
            pod("low-2", 400, priority=1),
        ),
    )
    plan = plan_dict(
        evictions=[("default/high-1", "n1")],
        bindings=[("default/low-1", "n1"), ("default/low-2", "n1")],
        tiers=[(10, 1, 0), (1, 0, 2)],
    )
    with pytest.raises(AssertionError, match="worse than the current placement"):
        check_plan(cluster, plan)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"scheduler_name": "volcano"}, "scheduler volcano", id="other-scheduler"),
        pytest.param({"terminating": True}, "terminating", id="terminating"),
    ],
)
def test_rejects_binding_a_pod_that_is_not_ours(fields: dict[str, Any], reason: str) -> None:
    cluster = one_move_cluster()
    pods = tuple(
        dataclasses.replace(p, **fields) if p.name == "high-1" else p for p in cluster.pods
    )
    with pytest.raises(AssertionError, match=f"default/high-1 bound although .*{reason}"):
        check_plan(dataclasses.replace(cluster, pods=pods), good_plan())
