"""What keeps a Pending pod off each node, and what still holds the room: hand-built clusters whose
answers are worked out by hand in each test."""

from __future__ import annotations

from scheduler_ext.domain import (
    Cluster,
    DisruptionBudget,
    LabelSelector,
    OwnerRef,
    PodAffinityTerm,
    SpreadConstraint,
    Taint,
)
from scheduler_ext.model.blockers import amount, blockers_now, holders
from scheduler_ext.model.interpod import REASON_EXISTING_ANTI
from scheduler_ext.model.movability import DEFAULT_POLICY
from testkit.factories import GI, labels, node, pod

WEB = LabelSelector(match_labels=labels(app="web"))


def _reasons(cluster: Cluster, key: str) -> dict[str, tuple[str, ...]]:
    pending = next(p for p in cluster.pods if p.key == key)
    return {v.node: v.reasons for v in blockers_now(cluster, pending)}


def test_resources_taints_and_a_node_with_room() -> None:
    cluster = Cluster(
        nodes=(
            node("full"),
            node("gpu", taints=[Taint(key="gpu", value="yes", effect="NoSchedule")]),
            node("roomy"),
        ),
        pods=(
            pod("busy-1", cpu=3500, node="full"),
            pod("api-1", cpu=1000, memory=2 * GI, priority=100),
        ),
    )
    assert _reasons(cluster, "default/api-1") == {
        "full": ("Insufficient cpu (needs 1, 500m free)",),
        "gpu": ("node(s) had untolerated taint(s) (taint gpu=yes:NoSchedule)",),
        "roomy": (),
    }


def test_memory_and_pod_slots_are_told_in_their_units() -> None:
    cluster = Cluster(
        nodes=(node("small", memory=GI, pods=1),),
        pods=(pod("old-1", memory=512 * 1024 * 1024, node="small"), pod("new-1", memory=GI)),
    )
    assert _reasons(cluster, "default/new-1") == {
        "small": ("Too many pods", "Insufficient memory (needs 1Gi, 512Mi free)"),
    }
    assert amount("cpu", 2500) == "2500m"
    assert amount("memory", 3 * 1024) == "3Ki"
    assert amount("nvidia.com/gpu", 2) == "2"


def test_a_running_pods_anti_affinity_keeps_the_pod_off_its_node() -> None:
    guard = pod(
        "guard-1",
        node="a",
        labels={"app": "db"},
        anti_affinity=(PodAffinityTerm(WEB, "kubernetes.io/hostname"),),
    )
    cluster = Cluster(
        nodes=(node("a"), node("b")),
        pods=(guard, pod("web-1", labels={"app": "web"})),
    )
    assert _reasons(cluster, "default/web-1") == {"a": (REASON_EXISTING_ANTI,), "b": ()}


def test_spread_skew_blocks_the_crowded_zone_only() -> None:
    zone = "topology.kubernetes.io/zone"
    spread = (SpreadConstraint(max_skew=1, topology_key=zone, selector=WEB),)
    cluster = Cluster(
        nodes=(node("a1", labels={zone: "a"}), node("b1", labels={zone: "b"})),
        pods=(
            pod("web-1", node="a1", labels={"app": "web"}, spread=spread),
            pod("web-2", node="a1", labels={"app": "web"}, spread=spread),
            pod("web-3", labels={"app": "web"}, spread=spread),
        ),
    )
    found = _reasons(cluster, "default/web-3")
    assert found["b1"] == ()
    # zone a would hold 3 against zone b's 0: skew 3 > 1.
    assert found["a1"] == ("node(s) didn't match pod topology spread constraints",)


def test_what_holds_the_room_once_movable_pods_are_gone() -> None:
    budget = DisruptionBudget(
        namespace="default", name="batch", selector=LabelSelector(labels(app="batch")),
        disruptions_allowed=0,
    )  # fmt: skip
    daemon = OwnerRef(kind="DaemonSet", name="agent")
    cluster = Cluster(
        nodes=(node("held"), node("locked")),
        pods=(
            pod("prod-1", cpu=3000, node="held", priority=1000),
            pod("agent-1", cpu=500, node="held", owner=daemon),
            pod("batch-1", cpu=3000, node="locked", labels={"app": "batch"}),
            pod("api-1", cpu=2000, priority=500),
        ),
        budgets=(budget,),
    )
    pending = cluster.pods[-1]
    found = {h.node: h for h in holders(cluster, pending, DEFAULT_POLICY)}
    held, locked = found["held"], found["locked"]
    assert held.short == ("Insufficient cpu (needs 2, 500m free)",)
    assert (held.higher, held.freeable, held.immovable) == (1, 0, (("daemonset", 1),))
    assert locked.short == ()
    assert (locked.freeable, locked.locked_budgets) == (1, ("default/batch",))
