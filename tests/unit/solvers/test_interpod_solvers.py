"""Each solver under the inter-pod rules: greedy as kube-scheduler would place and preempt, CP-SAT
on a scope seeing the domains outside it, neighbourhood search and auto on a cluster too large for
one neighbourhood. Every result passes the self-check and the pod-by-pod oracle."""

from __future__ import annotations

import time
from collections import defaultdict

from scheduler_ext.domain import (
    Cluster,
    LabelSelector,
    Pod,
    PodAffinityTerm,
    SpreadConstraint,
    label_items,
)
from scheduler_ext.model.assignment import (
    Assignment,
    current_assignment,
    evaluate,
    violations,
)
from scheduler_ext.model.interpod_rules import landing_order
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.planning.realize import realize
from scheduler_ext.solvers.auto import solve_auto
from scheduler_ext.solvers.cpsat.solver import solve_cpsat
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.neighbourhood import HOSTS, RECEIVERS, solve_neighbourhoods
from testkit import checker
from testkit.factories import node, pod
from tests.unit.model import oracle

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
WEB = LabelSelector(match_labels=label_items({"app": "web"}))
LOW, HIGH = 10, 1000


def final_placement(
    cluster: Cluster, problem: Problem, counts: list[dict[int, int]]
) -> dict[str, str | None]:
    bindings, moves, evictions, _ = realize(problem, Assignment.from_counts(counts))
    final = checker.current_placement(cluster)
    final.update({b.pod: b.node for b in bindings})
    final.update({m.pod: m.to_node for m in moves})
    final.update({e.pod: None for e in evictions})
    return final


def zone_spread_cluster(zones: str, per_zone: int, pending: int) -> Cluster:
    nodes = tuple(
        node(f"{z}{i}", cpu=2000, labels={ZONE: z}) for z in zones for i in range(per_zone)
    )
    spread = (SpreadConstraint(1, ZONE, WEB),)
    pods = tuple(
        pod(f"web-{i}", 1000, labels={"app": "web"}, spread=spread) for i in range(pending)
    )
    return Cluster(nodes=nodes, pods=pods)


def test_greedy_keeps_one_replica_per_node() -> None:
    anti = (PodAffinityTerm(selector=WEB, topology_key=HOST),)
    pods = tuple(pod(f"web-{i}", labels={"app": "web"}, anti_affinity=anti) for i in range(5))
    cluster = Cluster(nodes=tuple(node(f"n{i}") for i in range(3)), pods=pods)
    problem = build_problem(cluster)
    result = solve_greedy(problem)
    assert violations(problem, result.assignment) == []
    assert result.assignment.counts() == [{0: 1, 1: 1, 2: 1}]


def test_greedy_never_preempts_for_a_never_pod() -> None:
    low = pod("low-0", 1000, node="n0", priority=LOW)
    for preempts, placed in ((True, (1, 0)), (False, (0, 1))):
        high = pod("high-0", 1000, priority=HIGH, preempts=preempts)
        problem = build_problem(Cluster(nodes=(node("n0", cpu=1000),), pods=(low, high)))
        result = solve_greedy(problem)
        assert violations(problem, result.assignment) == []
        assert evaluate(problem, result.assignment).placed == placed


def test_greedy_does_not_preempt_a_pods_only_witness() -> None:
    # web-0 lands first (highest) next to db-0, its only witness; high-0 then needs all of n1,
    # but evicting db-0 would leave web-0 without the pod its affinity needs (evictions come
    # first in every plan), so greedy takes no such victim.
    db = pod("db-0", 1000, node="n1", priority=LOW, labels={"app": "db"})
    term = (
        PodAffinityTerm(
            selector=LabelSelector(match_labels=label_items({"app": "db"})), topology_key=ZONE
        ),
    )
    web = pod("web-0", 1000, priority=HIGH + 1, labels={"app": "web"}, affinity=term)
    high = pod("high-0", 2000, priority=HIGH, node_selector={HOST: "n1"})
    nodes = (node("n0", cpu=1000, labels={ZONE: "a"}), node("n1", cpu=2000, labels={ZONE: "a"}))
    cluster = Cluster(nodes=nodes, pods=(db, web, high))
    problem = build_problem(cluster)
    result = solve_greedy(problem)
    assert violations(problem, result.assignment) == []
    final = final_placement(cluster, problem, result.assignment.counts())
    assert final["default/web-0"] == "n0"
    assert final["default/db-0"] == "n1"  # not preempted for high-0: web-0 landed relying on it
    assert oracle.valid(cluster, final) is not None


def test_a_scope_sees_the_counts_of_domains_outside_it() -> None:
    # Zone a's node is outside the scope and holds no web pod: the smallest zone count stays 0,
    # so zones b and c take one each. A model blind to zone a would put two in each.
    cluster = zone_spread_cluster("abc", 1, 4)
    problem = build_problem(cluster)
    start = current_assignment(problem)
    result = solve_cpsat(problem, start, deadline=time.monotonic() + 5, scope=[1, 2])
    assert violations(problem, result.assignment) == []
    assert result.assignment.counts() == [{1: 1, 2: 1}]
    whole = solve_cpsat(problem, start, deadline=time.monotonic() + 5)
    assert sorted(whole.assignment.counts()[0].values()) == [1, 1, 2]  # zone a may take some


def _checked(cluster: Cluster, problem: Problem, counts: list[dict[int, int]]) -> None:
    """The self-check, then the oracle's filters along the model's own landing order."""
    assert violations(problem, Assignment.from_counts(counts)) == []
    final = final_placement(cluster, problem, counts)
    checker.validate_placement(cluster, final)
    order = landing_order(problem, counts)
    assert order is not None
    names = [slot.name for slot in problem.nodes]
    waiting: dict[tuple[int, str], list[Pod]] = defaultdict(list)
    for c, members in enumerate(problem.members):
        for p in (*members.pending, *(p for _, pods in members.running for p in pods)):
            target = final[p.key]
            if target is not None and target != p.node_name:
                waiting[(c, target)].append(p)
    stayed = {p.key: p.node_name or "" for p in cluster.pods if p.node_name == final[p.key]}
    kube = oracle.Kube(cluster, {k: n for k, n in stayed.items() if n})
    for c, n in order:
        landing = waiting[(c, names[n])].pop()
        assert kube.allows(landing, names[n])
        kube.present[landing.key] = names[n]


def test_neighbourhoods_and_auto_keep_zone_spread_on_a_larger_cluster() -> None:
    cluster = zone_spread_cluster("abc", (HOSTS + RECEIVERS) // 2, 10)
    problem = build_problem(cluster)
    start = current_assignment(problem)
    for solve in (solve_neighbourhoods, solve_auto):
        result = solve(problem, start, deadline=time.monotonic() + 2, workers=1)
        counts = result.assignment.counts()
        _checked(cluster, problem, counts)
        zones = [
            sum(k for n, k in counts[0].items() if problem.nodes[n].name[0] == z) for z in "abc"
        ]
        assert max(zones) - min(zones) <= 1
        assert sum(zones) >= 9
