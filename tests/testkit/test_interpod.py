"""The checker's inter-pod rules: InterPodAffinity, PodTopologySpread and the preemption policy,
each with a placement it accepts and one it rejects, judged in an execution order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from scheduler_ext.domain import (
    Cluster,
    LabelSelector,
    Namespace,
    NodeSelectorTerm,
    Pod,
    PodAffinityTerm,
    Requirement,
    SpreadConstraint,
    Taint,
)
from testkit.checker import validate_placement
from testkit.factories import labels, node, pod
from testkit.interpod import stated_order_violation

ZONE = "zone"
HOST = "kubernetes.io/hostname"
NODES = (
    node("a1", labels={ZONE: "a"}),
    node("a2", labels={ZONE: "a"}),
    node("b1", labels={ZONE: "b"}),
    node("x1"),  # no zone label
)
NAMESPACES = (
    Namespace("default"),
    Namespace("prod", labels(team="x")),
    Namespace("dev", labels(team="y")),
)


def term(app: str, key: str = ZONE, **fields: Any) -> PodAffinityTerm:
    return PodAffinityTerm(LabelSelector(match_labels=labels(app=app)), key, **fields)


def spread(app: str | None = "web", key: str = ZONE, **fields: Any) -> SpreadConstraint:
    selector = None if app is None else LabelSelector(match_labels=labels(app=app))
    return SpreadConstraint(
        max_skew=fields.pop("max_skew", 1), topology_key=key, selector=selector, **fields
    )


def judge(
    pods: tuple[Pod, ...], final: Mapping[str, str | None], nodes: tuple[Any, ...] = NODES
) -> None:
    """Validate ``final`` (pod name -> node, for the pods that change) on a small cluster."""
    cluster = Cluster(nodes=nodes, pods=pods, namespaces=NAMESPACES)
    placement: dict[str, str | None] = {p.key: p.node_name for p in cluster.pods}
    placement.update({f"{p.namespace}/{p.name}": final[p.name] for p in pods if p.name in final})
    validate_placement(cluster, placement)


def verdict(pods: tuple[Pod, ...], final: Mapping[str, str | None], **kw: Any) -> str | None:
    try:
        judge(pods, final, **kw)
    except AssertionError as exc:
        return str(exc)
    return None


# --- InterPodAffinity: the incoming pod's affinity ------------------------------------------------

CACHE = pod("cache-1", node="a1", labels={"app": "cache"})
NEAR_CACHE = pod("web-1", labels={"app": "web"}, affinity=(term("cache"),))


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        pytest.param("a2", None, id="same-zone"),
        pytest.param("a1", None, id="same-node"),
        pytest.param("b1", "no matching pod in zone=b", id="other-zone"),
        pytest.param("x1", "x1 has no zone label", id="node-without-the-key"),
    ],
)
def test_affinity_needs_a_matching_pod_in_the_domain(target: str, problem: str | None) -> None:
    found = verdict((CACHE, NEAR_CACHE), {"web-1": target})
    assert found is None if problem is None else problem in str(found)


def test_affinity_counts_pods_matching_all_terms() -> None:
    two_terms = pod("web-1", labels={"app": "web"}, affinity=(term("cache"), term("cache", HOST)))
    other_cache = pod("cache-2", node="a2", labels={"app": "cache"})
    assert verdict((CACHE, other_cache, two_terms), {"web-1": "a1"}) is None
    # In zone a but not on a cache's host: the hostname term is not met.
    only_zone = (pod("cache-1", node="a1", labels={"app": "cache"}), two_terms)
    assert "no matching pod in kubernetes.io/hostname=a2" in str(
        verdict(only_zone, {"web-1": "a2"})
    )


def test_first_pod_of_a_self_affine_group_goes_anywhere_with_the_key() -> None:
    group = tuple(
        pod(f"web-{i}", labels={"app": "web"}, affinity=(term("web"),)) for i in (1, 2, 3)
    )
    assert verdict(group, {"web-1": "b1", "web-2": "b1", "web-3": None}) is None
    assert "no matching pod in zone=" in str(verdict(group, {"web-1": "a1", "web-2": "b1"}))
    assert "x1 has no zone label" in str(verdict(group, {"web-1": "x1"}))


def test_first_pod_rule_needs_the_pod_to_match_its_own_terms() -> None:
    assert "no matching pod in zone=a" in str(verdict((NEAR_CACHE,), {"web-1": "a1"}))


def test_first_pod_rule_ends_once_a_matching_pod_runs_elsewhere() -> None:
    web = pod("web-9", node="b1", labels={"app": "web"})
    group = (web, pod("web-1", labels={"app": "web"}, affinity=(term("web"),)))
    assert "no matching pod in zone=a" in str(verdict(group, {"web-1": "a1"}))
    assert verdict(group, {"web-1": "b1"}) is None


def test_arriving_pods_the_affinity_needs_arrive_first() -> None:
    cache = pod("cache-1", labels={"app": "cache"})  # pending: bound in the same plan
    # Listed after the pod that needs it; the order search binds it first.
    assert verdict((NEAR_CACHE, cache), {"web-1": "a2", "cache-1": "a1"}) is None


def test_moved_pods_old_copies_are_gone_before_anything_arrives() -> None:
    moving = pod("cache-1", node="a1", labels={"app": "cache"})
    found = verdict((moving, NEAR_CACHE), {"cache-1": "b1", "web-1": "a1"})
    assert "no matching pod in zone=a" in str(found)
    assert verdict((moving, NEAR_CACHE), {"cache-1": "b1", "web-1": "b1"}) is None


@pytest.mark.parametrize(
    ("cache_namespace", "fields", "matches"),
    [
        pytest.param("default", {}, True, id="own-namespace"),
        pytest.param("prod", {}, False, id="own-namespace-only"),
        pytest.param("prod", {"namespaces": ("prod",)}, True, id="listed"),
        pytest.param(
            "prod",
            {"namespace_selector": LabelSelector(match_labels=labels(team="x"))},
            True,
            id="selected",
        ),
        pytest.param(
            "dev",
            {"namespace_selector": LabelSelector(match_labels=labels(team="x"))},
            False,
            id="not-selected",
        ),
        pytest.param("dev", {"namespace_selector": LabelSelector()}, True, id="empty-selects-all"),
        pytest.param(
            "prod",
            {
                "namespace_selector": LabelSelector(
                    match_labels=labels(**{"kubernetes.io/metadata.name": "prod"})
                )
            },
            True,
            id="by-name-label",
        ),
        pytest.param(
            "unlisted",
            {
                "namespace_selector": LabelSelector(
                    match_expressions=(Requirement("team", "DoesNotExist"),)
                )
            },
            False,
            id="unlisted-namespace-is-never-selected",
        ),
    ],
)
def test_affinity_term_namespaces(
    cache_namespace: str, fields: dict[str, Any], matches: bool
) -> None:
    cache = pod("cache-1", node="a1", namespace=cache_namespace, labels={"app": "cache"})
    web = pod("web-1", labels={"app": "web"}, affinity=(term("cache", **fields),))
    assert (verdict((cache, web), {"web-1": "a2"}) is None) is matches


# --- InterPodAffinity: anti-affinity, both directions --------------------------------------------


def test_incoming_anti_affinity() -> None:
    web = pod("web-9", node="a1", labels={"app": "web"})
    apart = pod("web-1", labels={"app": "web"}, anti_affinity=(term("web"),))
    assert "anti-affinity of default/web-1 (zone=a) excludes default/web-9" in str(
        verdict((web, apart), {"web-1": "a2"})
    )
    assert verdict((web, apart), {"web-1": "b1"}) is None
    assert verdict((web, apart), {"web-1": "x1"}) is None  # no zone: the term cannot clash


@pytest.mark.parametrize("key", [HOST, ZONE])
def test_self_anti_affinity_one_per_domain(key: str) -> None:
    replicas = tuple(
        pod(f"web-{i}", labels={"app": "web"}, anti_affinity=(term("web", key),)) for i in (1, 2)
    )
    assert verdict(replicas, {"web-1": "a1", "web-2": "b1"}) is None
    same = {"web-1": "a1", "web-2": "a2" if key == ZONE else "a1"}
    assert "anti-affinity of default/web-" in str(verdict(replicas, same))


@pytest.mark.parametrize(
    ("incoming_namespace", "blocked"),
    [
        pytest.param("prod", True, id="selected-namespace"),
        pytest.param("dev", False, id="other-namespace"),
    ],
)
def test_running_pods_anti_affinity_reads_the_incoming_namespace(
    incoming_namespace: str, blocked: bool
) -> None:
    guard = pod(
        "guard-1",
        node="a1",
        anti_affinity=(
            term("web", namespace_selector=LabelSelector(match_labels=labels(team="x"))),
        ),
    )
    web = pod("web-1", namespace=incoming_namespace, labels={"app": "web"})
    assert (verdict((guard, web), {"web-1": "a2"}) is not None) is blocked


# --- PodTopologySpread ---------------------------------------------------------------------------


def web_at(name: str, where: str | None, **fields: Any) -> Pod:
    return pod(name, node=where, labels={"app": "web"}, **fields)


def spreading(name: str, *constraints: SpreadConstraint, **fields: Any) -> Pod:
    return pod(name, labels={"app": "web"}, spread=constraints or (spread(),), **fields)


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        pytest.param("b1", None, id="into-the-emptier-zone"),
        pytest.param("a2", "skew 2 > maxSkew 1", id="into-the-fuller-zone"),
        pytest.param("x1", "x1 has no zone label", id="node-without-the-key"),
    ],
)
def test_spread_skew_against_the_global_minimum(target: str, problem: str | None) -> None:
    found = verdict((web_at("web-9", "a1"), spreading("web-1")), {"web-1": target})
    assert found is None if problem is None else problem in str(found)


def test_spread_max_skew() -> None:
    pods = (web_at("web-9", "a1"), spreading("web-1", spread(max_skew=2)))
    assert verdict(pods, {"web-1": "a2"}) is None


def test_spread_min_domains_makes_the_minimum_zero() -> None:
    existing = (web_at("web-8", "a1"), web_at("web-9", "b1"))
    assert verdict((*existing, spreading("web-1")), {"web-1": "a2"}) is None
    found = verdict((*existing, spreading("web-1", spread(min_domains=3))), {"web-1": "a2"})
    assert "skew 2 > maxSkew 1" in str(found)


ZONES_ABC = (
    node("a1", labels={ZONE: "a"}),
    node("b1", labels={ZONE: "b"}),
    node("c1", labels={ZONE: "c"}, taints=[Taint("dedicated", "x", "NoSchedule")]),
)
NOT_C = (NodeSelectorTerm(match_expressions=(Requirement(ZONE, "NotIn", ("c",)),)),)


@pytest.mark.parametrize(
    ("honor", "accepted"),
    [pytest.param(True, True, id="honor"), pytest.param(False, False, id="ignore")],
)
def test_spread_node_affinity_policy(honor: bool, accepted: bool) -> None:
    pods = (
        web_at("web-8", "a1"),
        web_at("web-9", "b1"),
        spreading("web-1", spread(honor_node_affinity=honor), required_node_affinity=NOT_C),
    )
    assert (verdict(pods, {"web-1": "a1"}, nodes=ZONES_ABC) is None) is accepted


@pytest.mark.parametrize(
    ("honor", "accepted"),
    [pytest.param(True, True, id="honor"), pytest.param(False, False, id="ignore")],
)
def test_spread_node_taints_policy(honor: bool, accepted: bool) -> None:
    pods = (
        web_at("web-8", "a1"),
        web_at("web-9", "b1"),
        spreading("web-1", spread(honor_node_taints=honor)),
    )
    assert (verdict(pods, {"web-1": "a1"}, nodes=ZONES_ABC) is None) is accepted


def test_spread_counts_only_the_carriers_namespace_and_no_terminating_pod() -> None:
    elsewhere = pod("web-8", node="a1", namespace="prod", labels={"app": "web"})
    leaving = web_at("web-9", "a2", terminating=True)
    assert verdict((elsewhere, leaving, spreading("web-1")), {"web-1": "a1"}) is None
    staying = web_at("web-9", "a2")
    assert "skew 2" in str(verdict((elsewhere, staying, spreading("web-1")), {"web-1": "a1"}))


def test_spread_selector_matching_nothing_only_needs_the_key() -> None:
    pods = (web_at("web-8", "a1"), web_at("web-9", "a2"), spreading("web-1", spread(None)))
    assert verdict(pods, {"web-1": "a1"}) is None
    assert "no zone label" in str(verdict(pods, {"web-1": "x1"}))


def test_spread_pods_arrive_lowest_domain_first() -> None:
    # a holds one web; the plan adds one to a and two to b: only b-first orders pass.
    pods = (
        web_at("web-9", "a1"),
        spreading("web-1"),
        spreading("web-2"),
        spreading("web-3"),
    )
    assert verdict(pods, {"web-1": "a2", "web-2": "b1", "web-3": "b1"}) is None
    found = verdict(pods, {"web-1": "a2", "web-2": "a2", "web-3": "b1"})
    assert "no order of the arriving pods passes" in str(found)


def test_spread_counts_arriving_pods_without_constraints() -> None:
    plain = web_at("web-2", None)
    pods = (web_at("web-9", "a1"), plain, spreading("web-1"))
    # web-2 (no constraint of its own) lands in b first, so web-1 may join a.
    assert verdict(pods, {"web-2": "b1", "web-1": "a2"}) is None
    assert "no order" in str(verdict(pods, {"web-2": "a1", "web-1": "a2"}))


# --- preemption policy ---------------------------------------------------------------------------


LOW = pod("low-1", 600, node="a1", priority=1, labels={"app": "low"})


@pytest.mark.parametrize(
    ("preempts", "low_to", "accepted"),
    [
        pytest.param(True, None, True, id="preempting-pod-may-evict"),
        pytest.param(False, None, False, id="never-pod-may-not-evict-lower"),
        pytest.param(False, "b1", True, id="never-pod-may-move-lower"),
    ],
)
def test_preemption_policy(preempts: bool, low_to: str | None, accepted: bool) -> None:
    high = pod("high-1", 3600, priority=10, preempts=preempts)
    found = verdict((LOW, high), {"high-1": "a1", "low-1": low_to})
    assert (found is None) is accepted
    if not accepted:
        assert "preemptionPolicy Never" in str(found)


def test_a_moved_never_pod_lands_too() -> None:
    never = pod("mid-1", 100, node="b1", priority=5, preempts=False)
    top = pod("top-1", 3600, priority=10)
    found = verdict((LOW, never, top), {"mid-1": "a2", "low-1": None, "top-1": "a1"})
    assert "default/mid-1 (preemptionPolicy Never, priority 5) lands" in str(found)
    assert verdict((LOW, never, top), {"low-1": None, "top-1": "a1"}) is None


def test_never_pod_and_eviction_of_a_higher_pod_are_unrelated() -> None:
    low = pod("low-1", 600, priority=1, preempts=False)  # pending, below the evicted pod
    high = pod("mid-1", 3600, node="b1", priority=5)
    top = pod("top-1", 3600, priority=10)
    assert verdict((low, high, top), {"low-1": "a2", "mid-1": None, "top-1": "b1"}) is None


def test_a_stated_landing_order_must_pass_as_stated() -> None:
    """The executor follows the plan's ``landingOrder``: some other order passing is not
    enough, and pods it does not list land first."""
    db = pod("db-1", labels={"app": "db"})
    web = pod("web-1", labels={"app": "web"}, affinity=(term("db"),))
    cluster = Cluster(nodes=NODES, pods=(db, web), namespaces=NAMESPACES)
    final = {db.key: "a1", web.key: "a2"}
    arrived = [db.key, web.key]
    assert stated_order_violation(cluster, final, arrived, [db.key, web.key]) is None
    assert stated_order_violation(cluster, final, arrived, []) is None  # plan order: db first
    problem = stated_order_violation(cluster, final, arrived, [web.key, db.key])
    assert problem is not None
    assert "fails at default/web-1" in problem
    assert stated_order_violation(cluster, final, [web.key, db.key], []) is not None
