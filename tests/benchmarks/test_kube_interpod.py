"""The kube-scheduler stand-in keeps pod anti-affinity, affinity and DoNotSchedule spread as the
checker does, also when it preempts, and never preempts for a ``preemptionPolicy: Never`` pod."""

from __future__ import annotations

from benchmarks.kube_baseline import kube_schedule
from benchmarks.workloads_topology import topology_cluster
from scheduler_ext.domain import Cluster, LabelSelector, Pod, PodAffinityTerm, SpreadConstraint
from testkit import checker
from testkit.factories import labels, node, pod

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
WEB = LabelSelector(match_labels=labels(app="web"))


def where(cluster: Cluster) -> dict[str, str | None]:
    return {p.name: p.node_name for p in cluster.pods}


def web(
    name: str,
    cpu: int = 500,
    *,
    spread: bool = False,
    anti: bool = False,
    node: str | None = None,
    priority: int = 0,
) -> Pod:
    """A pod of the "web" Deployment, optionally spread over zones or one per node."""
    return pod(
        name,
        cpu,
        node=node,
        priority=priority,
        labels={"app": "web"},
        spread=(SpreadConstraint(1, ZONE, WEB),) if spread else (),
        anti_affinity=(PodAffinityTerm(WEB, HOST),) if anti else (),
    )


def test_spread_sends_the_pod_to_the_smallest_zone_although_another_scores_better() -> None:
    cluster = Cluster(
        nodes=(node("a1", 4000, labels={ZONE: "a"}), node("b1", 2000, labels={ZONE: "b"})),
        pods=(web("web-1", node="a1", spread=True), web("web-2", spread=True)),
    )
    # a1 is the emptier node (LeastAllocated), but zone a already holds one web pod.
    assert where(kube_schedule(cluster).cluster)["web-2"] == "b1"
    free = Cluster(nodes=cluster.nodes, pods=(cluster.pods[0], pod("plain-1", 500)))
    assert where(kube_schedule(free).cluster)["plain-1"] == "a1"


def test_one_replica_per_node_both_ways() -> None:
    cluster = Cluster(
        nodes=(node("n1", 4000), node("n2", 1000)),
        pods=(
            web("web-1", node="n1", anti=True),
            web("web-2", 800, anti=True),  # its own term keeps it off n1
            web("web-3", 800),  # web-1's term keeps it off n1 (and n2 is full by then)
        ),
    )
    placed = where(kube_schedule(cluster).cluster)
    assert placed == {"web-1": "n1", "web-2": "n2", "web-3": None}


def test_required_affinity_needs_a_matching_pod_in_the_domain() -> None:
    near_web = (PodAffinityTerm(WEB, ZONE),)
    cluster = Cluster(
        nodes=(node("a1", 4000, labels={ZONE: "a"}), node("b1", 4000, labels={ZONE: "b"})),
        pods=(
            web("web-1", node="b1"),
            pod("cache-1", 500, affinity=near_web),
            pod("lonely-1", 500, affinity=(PodAffinityTerm(WEB, "missing-key"),)),
        ),
    )
    placed = where(kube_schedule(cluster).cluster)
    assert placed["cache-1"] == "b1"
    assert placed["lonely-1"] is None


def test_preemption_removes_a_lower_priority_pod_whose_anti_affinity_repels() -> None:
    cluster = Cluster(
        nodes=(node("n1", 4000),),
        pods=(
            pod("guard-1", 500, node="n1", priority=1, anti_affinity=(PodAffinityTerm(WEB, HOST),)),
            web("web-1", priority=10),
        ),
    )
    result = kube_schedule(cluster)
    assert where(result.cluster) == {"guard-1": None, "web-1": "n1"}
    assert result.victims == 1


def test_preemption_for_spread_keeps_the_skew() -> None:
    cluster = Cluster(
        nodes=(node("a1", 2000, labels={ZONE: "a"}), node("b1", 1000, labels={ZONE: "b"})),
        pods=(
            web("web-1", 600, node="a1", spread=True, priority=10),
            pod("low-0", 1000, node="a1", priority=1),
            pod("low-1", 600, node="b1", priority=1),
            web("web-2", 600, spread=True, priority=10),
        ),
    )
    # Preempting on a1 or b1 costs the same (one victim of priority 1) and a1 sorts first, but
    # only b1 keeps the skew.
    placed = where(kube_schedule(cluster).cluster)
    assert placed == {"web-1": "a1", "low-0": "a1", "low-1": None, "web-2": "b1"}


def test_a_never_preempting_pod_waits() -> None:
    cluster = Cluster(
        nodes=(node("n1", 1000),),
        pods=(pod("low-1", 800, node="n1", priority=1), pod("high-1", 800, priority=10)),
    )
    assert where(kube_schedule(cluster).cluster)["high-1"] == "n1"
    never = Cluster(
        nodes=cluster.nodes,
        pods=(cluster.pods[0], pod("high-1", 800, priority=10, preempts=False)),
    )
    assert where(kube_schedule(never).cluster) == {"low-1": "n1", "high-1": None}


def test_the_baseline_of_a_topology_cluster_passes_the_checker() -> None:
    cluster = topology_cluster(100, seed=3)
    end = kube_schedule(cluster).cluster
    before = {p.key: p.node_name for p in cluster.pods}
    final = {p.key: p.node_name for p in end.pods}
    arrived = [key for key, target in final.items() if target and target != before[key]]
    assert any(p.spread for p in cluster.pods if p.key in arrived)
    assert checker.interpod_violation(cluster, final, arrived) is None
    waiting = [p for p in end.pods if p.node_name is None and (p.spread or p.anti_affinity)]
    assert waiting
    assert all(not p.preempts for p in waiting)
