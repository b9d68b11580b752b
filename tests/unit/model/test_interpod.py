"""Inter-pod rules end to end on tiny clusters: every plan is one kube-scheduler accepts (the
checker, plus the pod-by-pod oracle for what the checker does not know yet) and, with CP-SAT, the
exact optimum of a brute force over every placement."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.domain import (
    Cluster,
    LabelSelector,
    PodAffinityTerm,
    SpreadConstraint,
    label_items,
)
from scheduler_ext.model.problem import build_problem
from scheduler_ext.planning import render
from scheduler_ext.planning.options import PlanOptions, SolverChoice
from scheduler_ext.planning.planner import make_plan
from testkit import checker
from testkit.bruteforce import brute_force
from testkit.factories import node, pod
from tests.unit.model import oracle

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
LOW, HIGH = 10, 1000


def app(name: str) -> LabelSelector:
    return LabelSelector(match_labels=label_items({"app": name}))


def anti(name: str, key: str = HOST) -> tuple[PodAffinityTerm, ...]:
    return (PodAffinityTerm(selector=app(name), topology_key=key),)


def spread(name: str, max_skew: int = 1, min_domains: int = 1) -> tuple[SpreadConstraint, ...]:
    return (SpreadConstraint(max_skew, ZONE, app(name), min_domains=min_domains),)


def zone_node(name: str, zone: str, cpu: int = 4000) -> Any:
    return node(name, cpu=cpu, labels={ZONE: zone})


def planned(cluster: Cluster, solver: SolverChoice) -> tuple[dict[str, Any], dict[str, str | None]]:
    plan = make_plan(cluster, PlanOptions(time_limit_seconds=5, solver=solver), isolate=False)
    wire = render.plan_to_dict(plan)
    checker.check_plan(cluster, wire)  # the rules it knows: capacity, anti-affinity, budgets
    final = checker.plan_placement(cluster, wire)
    assert oracle.valid(cluster, final) is not None, f"kube-scheduler would refuse {wire['spec']}"
    stated = wire["status"].get("diagnostics", {}).get("landingOrder", {"pods": []})
    assert oracle.order_passes(cluster, final, stated["pods"]), f"order {stated} refused"
    return wire, final


def assert_optimal(cluster: Cluster) -> dict[str, str | None]:
    best, _ = oracle.best_plan(cluster)
    wire, final = planned(cluster, "cpsat")
    assert checker.validate_placement(cluster, final).objective == best
    assert wire["status"]["optimal"] is True
    planned(cluster, "greedy")  # valid too, and never worse than doing nothing
    planned(cluster, "auto")
    return final


def one_per_node() -> Cluster:
    """Three nodes, a web pod running on n0, four pending: one web pod per node at most."""
    pods = [pod("web-0", labels={"app": "web"}, node="n0", anti_affinity=anti("web"))]
    pods += [
        pod(f"web-{i}", labels={"app": "web"}, anti_affinity=anti("web")) for i in (1, 2, 3, 4)
    ]
    return Cluster(nodes=tuple(node(f"n{i}") for i in range(3)), pods=tuple(pods))


def test_self_anti_affinity_places_one_replica_per_node() -> None:
    final = assert_optimal(one_per_node())
    assert sorted(n for n in final.values() if n) == ["n0", "n1", "n2"]


def test_a_replica_class_stays_one_class() -> None:
    nodes = tuple(zone_node(f"n{i}", "abc"[i % 3]) for i in range(30))
    pods = tuple(
        pod(f"web-{i}", labels={"app": "web"}, anti_affinity=anti("web"), spread=spread("web"))
        for i in range(50)
    )
    problem = build_problem(Cluster(nodes=nodes, pods=pods))
    assert len(problem.classes) == 1
    assert len(problem.anti_affinity) == len(problem.spread) == 1


def test_a_carrier_moves_away_so_that_a_pod_it_selects_can_land() -> None:
    # n0 (zone a) has room for the 3-CPU web pod, but the low guard there keeps app=web out of
    # zone a; n1 (zone b) has room for the guard only. Both directions: the guard may not land
    # in web's zone either.
    guard = pod("guard-0", 500, node="n0", priority=LOW, anti_affinity=anti("web", ZONE))
    filler = pod("filler-0", 3000, node="n1", owner=None)
    web = pod("web-0", 3000, priority=HIGH, labels={"app": "web"})
    cluster = Cluster(nodes=(zone_node("n0", "a"), zone_node("n1", "b")), pods=(guard, filler, web))
    final = assert_optimal(cluster)
    assert final == {"default/guard-0": "n1", "default/filler-0": "n1", "default/web-0": "n0"}


def test_a_running_pods_anti_affinity_keeps_a_pending_pod_out_of_its_zone() -> None:
    guard = pod("guard-0", node="n0", owner=None, anti_affinity=anti("web", ZONE))
    webs = [pod(f"web-{i}", 1500, labels={"app": "web"}) for i in range(2)]
    nodes = (zone_node("n0", "a"), zone_node("n1", "b", cpu=2000))
    final = assert_optimal(Cluster(nodes=nodes, pods=(guard, *webs)))
    assert sorted(n or "-" for k, n in final.items() if k.startswith("default/web")) == ["-", "n1"]


def test_zone_spread_over_three_zones_with_max_skew_one() -> None:
    # Zone a already holds two (immovable) web pods; zone c has room for one more pod only.
    # Landing in a would make a's count exceed the smallest by more than one, so b gets two
    # and c one: three of the four pending pods.
    running = [pod(f"web-r{i}", node="n0", owner=None, labels={"app": "web"}) for i in range(2)]
    pending = [pod(f"web-{i}", labels={"app": "web"}, spread=spread("web")) for i in range(4)]
    nodes = (zone_node("n0", "a"), zone_node("n1", "b"), zone_node("n2", "c", cpu=100))
    final = assert_optimal(Cluster(nodes=nodes, pods=(*running, *pending)))
    landed = sorted(n or "-" for k, n in final.items() if not k.startswith("default/web-r"))
    assert landed == ["-", "n1", "n1", "n2"]


def test_min_domains_makes_the_smallest_count_zero() -> None:
    # Two zones but minDomains 3: the global minimum is 0, so each zone takes maxSkew pods.
    pending = [
        pod(f"web-{i}", labels={"app": "web"}, spread=spread("web", min_domains=3))
        for i in range(4)
    ]
    nodes = (zone_node("n0", "a"), zone_node("n1", "b"))
    final = assert_optimal(Cluster(nodes=nodes, pods=tuple(pending)))
    assert sorted(n or "-" for n in final.values()) == ["-", "-", "n0", "n1"]


def test_affinity_to_a_running_pods_zone() -> None:
    db = pod("db-0", node="n1", owner=None, labels={"app": "db"})
    term = (PodAffinityTerm(selector=app("db"), topology_key=ZONE),)
    webs = [pod(f"web-{i}", 1500, labels={"app": "web"}, affinity=term) for i in range(3)]
    nodes = (zone_node("n0", "a"), zone_node("n1", "b", cpu=1700), zone_node("n2", "b", 1500))
    final = assert_optimal(Cluster(nodes=nodes, pods=(db, *webs)))
    assert sorted(n or "-" for k, n in final.items() if "web" in k) == ["-", "n1", "n2"]


def test_the_first_pods_of_a_self_affine_group_share_one_zone() -> None:
    # No web pod runs: kube-scheduler lets the first land anywhere, the rest must follow it.
    term = (PodAffinityTerm(selector=app("web"), topology_key=ZONE),)
    webs = [pod(f"web-{i}", 2000, labels={"app": "web"}, affinity=term) for i in range(3)]
    nodes = (zone_node("n0", "a"), zone_node("n1", "b", cpu=2000))
    final = assert_optimal(Cluster(nodes=nodes, pods=tuple(webs)))
    assert sorted(n or "-" for n in final.values()) == ["-", "n0", "n0"]


@pytest.mark.parametrize("preempts", [False, True], ids=["never", "preempt-lower"])
def test_a_never_pod_causes_no_eviction(preempts: bool) -> None:
    low = pod("low-0", 1000, node="n0", priority=LOW)
    fill = pod("fill-0", 1000, node="n1", owner=None)
    high = pod("high-0", 1000, priority=HIGH, preempts=preempts)
    cluster = Cluster(nodes=(node("n0", cpu=1000), node("n1", cpu=1000)), pods=(low, fill, high))
    final = assert_optimal(cluster)
    if preempts:
        assert final["default/high-0"] == "n0"
        assert final["default/low-0"] is None
    else:
        assert final["default/high-0"] is None
        assert final["default/low-0"] == "n0"


def test_a_never_pod_may_still_land_by_moving_a_pod() -> None:
    low = pod("low-0", 1000, node="n0", priority=LOW)
    high = pod("high-0", 1000, priority=HIGH, preempts=False, node_selector={HOST: "n0"})
    cluster = Cluster(nodes=(node("n0", cpu=1000), node("n1", cpu=1000)), pods=(low, high))
    final = assert_optimal(cluster)
    assert final == {"default/low-0": "n1", "default/high-0": "n0"}


def test_every_groups_topology_is_in_the_problem() -> None:
    # No node passes web-0's static filters, so eligibility never looks at its topology keys:
    # they are first seen while the groups are built, and must still be in Problem.topologies.
    pods = (
        pod("web-0", labels={"app": "web"}, node_selector={"disk": "ssd"}, spread=spread("web")),
        pod("web-1", node="n0", labels={"app": "web"}, anti_affinity=anti("web")),
    )
    nodes = (zone_node("n0", "a"), zone_node("n1", "b"))
    problem = build_problem(Cluster(nodes=nodes, pods=pods))
    keys = [t.key for t in problem.topologies]
    assert [keys[g.topology] for g in problem.spread] == [ZONE]
    assert [keys[g.topology] for g in problem.anti_affinity] == [HOST]


def test_a_lone_self_affine_pod_may_move() -> None:
    # The only app=b pod carries affinity to app=b by hostname. Evicted, it is gone when its
    # replacement is scheduled, which kube-scheduler then lets land anywhere as the first pod.
    term = (PodAffinityTerm(selector=app("b"), topology_key=HOST),)
    b = pod("b-0", 250, node="n1", labels={"app": "b"}, affinity=term)
    fill = pod("fill-0", 800, node="n0", owner=None)
    new = pod("new-0", 800, priority=LOW)
    nodes = (node("n0", cpu=1100), node("n1", cpu=1000))
    final = assert_optimal(Cluster(nodes=nodes, pods=(b, fill, new)))
    assert final == {"default/b-0": "n0", "default/fill-0": "n0", "default/new-0": "n1"}


def test_a_domain_broken_before_the_plan_opens_once_it_is_whole() -> None:
    # web-0 and db-0 already break web-0's anti-affinity on n0 (it is IgnoredDuringExecution).
    # Moving web-0 away makes n0 whole again, and db-1 may then land there.
    web = pod("web-0", 500, node="n0", labels={"app": "web"}, anti_affinity=anti("db"))
    db = pod("db-0", 1000, node="n0", owner=None, labels={"app": "db"})
    new = pod("db-1", 1200, priority=HIGH, labels={"app": "db"})
    cluster = Cluster(nodes=(node("n0", cpu=2500), node("n1", cpu=1000)), pods=(web, db, new))
    final = assert_optimal(cluster)
    assert final == {"default/web-0": "n1", "default/db-0": "n0", "default/db-1": "n0"}


def test_a_rule_kept_stricter_is_certified_by_a_relaxation() -> None:
    # canary-0 matches web's spread selector without carrying the constraint, where the model's
    # rule may be stricter than kube-scheduler: its optimum is a proof only when the model with
    # just a necessary rule there (the certificate) finds nothing better.
    webs = [pod(f"web-{i}", labels={"app": "web"}, spread=spread("web")) for i in range(2)]
    canary = pod("canary-0", labels={"app": "web"})
    roomy = Cluster(nodes=(zone_node("n0", "a"), zone_node("n1", "b")), pods=(*webs, canary))
    # Zone b has no room: the second web pod may not land in zone a (skew 2 whatever the order).
    tight = Cluster(nodes=(zone_node("n0", "a"), zone_node("n1", "b", cpu=0)), pods=roomy.pods)
    for cluster in (roomy, tight):
        best, _ = oracle.best_plan(cluster)
        wire, final = planned(cluster, "cpsat")
        assert checker.validate_placement(cluster, final).objective == best
        assert wire["status"]["optimal"] is True
        assert "certificate" in [s["name"] for s in wire["status"]["diagnostics"]["stages"]]


def test_the_certificate_keeps_only_a_necessary_spread_rule() -> None:
    # Without the canary's landing counted (the necessary rule), zone a may take both web pods
    # only if the smallest final count allows it; with it dropped altogether it always could.
    from scheduler_ext.solvers.cpsat.solver import relaxed

    webs = [pod(f"web-{i}", labels={"app": "web"}, spread=spread("web")) for i in range(2)]
    cluster = Cluster(
        nodes=(zone_node("n0", "a"), zone_node("n1", "b", cpu=0)),
        pods=(*webs, pod("canary-0", labels={"app": "web"})),
    )
    problem = build_problem(cluster)
    looser = relaxed(problem)
    assert looser is not None
    assert [g.necessary_only for g in looser.spread] == [True]
    assert relaxed(build_problem(one_per_node())) is None


def _terminating_cases() -> list[Any]:
    nodes = (zone_node("n0", "a"), zone_node("n1", "b"), zone_node("n2", "b"))
    db_there = pod("db-0", node="n1", owner=None, labels={"app": "db"}, terminating=True)
    term = (PodAffinityTerm(selector=app("db"), topology_key=ZONE),)
    web = pod("web-1", labels={"app": "web"}, affinity=term)
    web_away = pod("web-1", labels={"app": "web"}, anti_affinity=anti("db", ZONE))
    leaving = [
        pod(f"web-{i}", node="n0", owner=None, labels={"app": "web"}, terminating=True)
        for i in (7, 8)
    ]
    spreading = [pod(f"web-{i}", labels={"app": "web"}, spread=spread("web")) for i in (1, 2)]
    one_in_b = (zone_node("n0", "a"), zone_node("n1", "b", cpu=150))
    return [
        pytest.param(Cluster(nodes=nodes, pods=(db_there, web)), {"n1", "n2"}, id="affinity"),
        pytest.param(Cluster(nodes=nodes, pods=(db_there, web_away)), {"n0"}, id="anti-affinity"),
        pytest.param(
            Cluster(nodes=one_in_b, pods=(*leaving, *spreading)), {"n0", "n1"}, id="spread"
        ),
    ]


@pytest.mark.parametrize(("cluster", "nodes"), _terminating_cases())
def test_a_terminating_pod_counts_as_kube_scheduler_counts_it(
    cluster: Cluster, nodes: set[str]
) -> None:
    """kube-scheduler's snapshot holds a terminating pod until it is gone: it witnesses required
    affinity and blocks anti-affinity (``interpodaffinity`` counts every pod on a node), but
    spread skips it (``countPodsMatchSelector``: ``DeletionTimestamp != nil``). Until 2026-12 the
    model did not take a terminating pod as an affinity witness: the pending pod stayed unplaced
    and the plan still said ``optimal``."""
    plan = render.plan_to_dict(
        make_plan(cluster, PlanOptions(time_limit_seconds=5, solver="cpsat"), isolate=False)
    )
    result = checker.check_plan(cluster, plan)
    assert result.objective == brute_force(cluster).objective
    assert plan["status"]["optimal"] is True
    assert {b["node"] for b in plan["spec"]["bindings"]} <= nodes
    assert len(plan["spec"]["bindings"]) == len([p for p in cluster.pods if not p.bound])
