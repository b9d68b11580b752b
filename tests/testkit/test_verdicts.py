"""The differential test's own logic without a cluster: the generator's views of a pod, the pin,
and how a checker verdict is compared with kube-scheduler's outcome."""

from __future__ import annotations

import random

from scheduler_ext.domain import Cluster, Namespace
from testkit import diffgen, factories
from testkit.differential import arrival_order, domain_pod
from testkit.verdicts import (
    ALLOWED,
    ANTI_AFFINITY,
    EXISTING_ANTI_AFFINITY,
    NODE,
    SPREAD,
    Verdict,
    agrees,
    verdict,
)

ANTI = (
    "0/3 nodes are available: 1 node(s) didn't match pod anti-affinity rules, "
    "2 node(s) didn't match Pod's node affinity/selector."
)


def test_instances_are_reproducible_and_have_a_pending_pod() -> None:
    for seed in range(50):
        one = diffgen.random_instance(seed, namespace="ns", node_prefix="x-")
        assert one == diffgen.random_instance(seed, namespace="ns", node_prefix="x-")
        assert any(not p["spec"].get("nodeName") for p in one.pods)


def test_pin_is_anded_into_every_node_affinity_term() -> None:
    pod = diffgen.pinned(diffgen.random_pod(random.Random(1), "p", "ns"), "n1")
    pod["spec"]["affinity"]["nodeAffinity"][diffgen.REQUIRED]["nodeSelectorTerms"].append(
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    )
    again = diffgen.pinned(pod, "n2", name="probe-0")
    terms = again["spec"]["affinity"]["nodeAffinity"][diffgen.REQUIRED]["nodeSelectorTerms"]
    assert again["metadata"]["name"] == "probe-0"
    assert all(
        {"key": "metadata.name", "operator": "In", "values": ["n2"]} in t["matchFields"]
        for t in terms
    )
    live = diffgen.live_pod(again, "n2")
    assert live["spec"]["nodeName"] == "n2"
    assert live["spec"]["priorityClassName"] == diffgen.NEVER_CLASS


def test_verdicts_follow_kube_schedulers_filter_order() -> None:
    nodes = (factories.node("n1", labels={"zone": "a"}), factories.node("n2", labels={"zone": "a"}))
    view = Cluster(nodes=nodes, namespaces=(Namespace("ns"),))
    spec = {
        "labelSelector": {"matchLabels": {"app": "a"}},
        "topologyKey": "zone",
    }
    running = diffgen.live_pod(diffgen.random_pod(random.Random(2), "r", "ns"), "n1")
    running["metadata"]["labels"] = {"app": "a"}
    running["spec"].pop("affinity", None)
    running["spec"].pop("topologySpreadConstraints", None)
    running["spec"].pop("nodeSelector", None)
    incoming = {**running, "metadata": {**running["metadata"], "name": "i"}}
    incoming = diffgen.pinned(incoming, "n2")
    incoming["spec"]["affinity"]["podAntiAffinity"] = {diffgen.REQUIRED: [spec]}
    placed = [(domain_pod(running, "ns"), "n1")]
    assert verdict(view, placed, domain_pod(incoming, "ns"), "n2").rule == ANTI_AFFINITY
    assert verdict(view, placed, domain_pod(incoming, "ns"), "n1").rule == NODE  # pinned to n2
    assert verdict(view, [], domain_pod(incoming, "ns"), "n2").rule == ALLOWED
    # the running pod's term against the incoming pod
    running["spec"]["affinity"] = {"podAntiAffinity": {diffgen.REQUIRED: [spec]}}
    plain = diffgen.pinned({**running, "metadata": {**running["metadata"], "name": "j"}}, "n2")
    plain["spec"]["affinity"].pop("podAntiAffinity")
    placed = [(domain_pod(running, "ns"), "n1")]
    assert verdict(view, placed, domain_pod(plain, "ns"), "n2").rule == EXISTING_ANTI_AFFINITY


def test_agreement_needs_the_same_node_or_exactly_the_named_reason() -> None:
    assert agrees(Verdict(ALLOWED), "n1", "", "n1")
    assert not agrees(Verdict(ALLOWED), None, ANTI, "n1")
    assert not agrees(Verdict(ALLOWED), "n2", "", "n1")
    assert agrees(Verdict(ANTI_AFFINITY), None, ANTI, "n1")
    assert not agrees(Verdict(ANTI_AFFINITY), "n1", "", "n1")
    assert not agrees(Verdict(SPREAD), None, ANTI, "n1")
    assert not agrees(Verdict(EXISTING_ANTI_AFFINITY), None, ANTI, "n1")
    assert agrees(Verdict(NODE), None, "Insufficient cpu", "n1")


def _spreading(**spec: object) -> dict[str, object]:
    pod = diffgen.random_pod(random.Random(1), "p", "ns")
    pod["spec"].pop("affinity", None)
    pod["spec"].pop("nodeSelector", None)
    pod["spec"]["topologySpreadConstraints"] = [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
    ]
    pod["spec"].update(spec)
    return pod


def test_pin_keeps_spread_over_every_node_when_honor_is_ignore() -> None:
    """Honor (the default) with no node affinity of the pod's own counts every node, as Ignore
    does; pinned, it would count one: the pin writes it as Ignore. With a node selector Honor
    means something, and stays."""
    free = diffgen.pinned(_spreading(), "n1")
    assert free["spec"]["topologySpreadConstraints"][0]["nodeAffinityPolicy"] == "Ignore"
    selected = diffgen.pinned(_spreading(nodeSelector={"zone": "a"}), "n1")
    assert "nodeAffinityPolicy" not in selected["spec"]["topologySpreadConstraints"][0]


def test_pods_are_created_in_the_plans_landing_order() -> None:
    def plan(order: list[str] | None) -> dict[str, object]:
        status = {} if order is None else {"diagnostics": {"landingOrder": {"pods": order}}}
        return {
            "spec": {
                "moves": [{"pod": "ns/m", "fromNode": "n1", "toNode": "n2"}],
                "bindings": [{"pod": "ns/a", "node": "n1"}, {"pod": "ns/b", "node": "n2"}],
            },
            "status": status,
        }

    assert arrival_order(plan(None)) == ["m", "a", "b"]
    assert arrival_order(plan(["ns/b", "ns/m"])) == ["a", "b", "m"]
