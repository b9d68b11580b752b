"""``scheduler-ext explain`` against a live cluster agrees with kube-scheduler on why pods wait.

Five kwok nodes on a real control plane, each failing in its own way (two zone-a nodes holding
``db`` and ``web`` pods, a nearly full zone-b node, a zone-b node out of pod slots, a tainted node
without a zone), and six Pending pods, each blocked for a different reason: cpu, memory, a node
selector, its anti-affinity, its topology spread, its affinity. For each, kube-scheduler's own
FailedScheduling event ("0/5 nodes are available: 1 Too many pods, 4 Insufficient cpu, ...") and
``scheduler-ext explain NS/POD --output json`` (the CLI, reading the live cluster) must give the
same reasons with the same node counts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from testkit import builders
from testkit.cluster import KwokCluster
from testkit.kube import Kube
from testkit.service import REPO
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NS = "explain"
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
TAINT = "node(s) had untolerated taint(s)"
CPU, MEMORY, SLOTS = "Insufficient cpu", "Insufficient memory", "Too many pods"


def _term(app: str) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": HOST}


SPREAD = {
    "maxSkew": 1,
    "topologyKey": ZONE,
    "whenUnsatisfiable": "DoNotSchedule",
    "labelSelector": {"matchLabels": {"app": "web"}},
}

#: pod name -> (its requests, extra spec, labels, the reasons and node counts both must give).
PENDING: dict[str, tuple[dict[str, str], dict[str, Any], dict[str, str], dict[str, int]]] = {
    "cpu": ({"cpu": "6"}, {}, {}, {TAINT: 1, SLOTS: 1, CPU: 4}),
    "memory": ({"cpu": "100m", "memory": "16Gi"}, {}, {}, {TAINT: 1, SLOTS: 1, MEMORY: 4}),
    "selector": (
        {"cpu": "100m"},
        {"nodeSelector": {"disk": "ssd"}},
        {},
        {TAINT: 1, "node(s) didn't match Pod's node affinity/selector": 4},
    ),
    "anti": (
        {"cpu": "1"},
        {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            _term("db")
        ]}}},
        {},
        {TAINT: 1, SLOTS: 1, CPU: 1, "node(s) didn't match pod anti-affinity rules": 2},
    ),
    "spread": (
        {"cpu": "1"},
        {"topologySpreadConstraints": [SPREAD]},
        {"app": "web"},
        {TAINT: 1, SLOTS: 1, CPU: 1, "node(s) didn't match pod topology spread constraints": 2},
    ),
    "affinity": (
        {"cpu": "100m"},
        {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            _term("cache")
        ]}}},
        {},
        {TAINT: 1, SLOTS: 1, "node(s) didn't match pod affinity rules": 3},
    ),
}  # fmt: skip

_LINE = re.compile(r"^0/(?P<nodes>\d+) nodes are available: (?P<reasons>.*?)\.?$")
_ITEM = re.compile(r"^(?P<count>\d+) (?P<reason>.+)$")


def reasons_of(message: str) -> dict[str, int]:
    """kube-scheduler's FailedScheduling line as {reason: nodes}; what follows the filters'
    sentence (". no new claims to deallocate, preemption: ...") left out."""
    head = message.split(". ", 1)[0].strip()
    match = _LINE.match(head)
    assert match, message
    counts = {}
    for item in match.group("reasons").split(", "):
        found = _ITEM.match(item.strip())
        assert found, (item, message)
        counts[found.group("reason")] = int(found.group("count"))
    assert sum(counts.values()) >= int(match.group("nodes")), message
    return counts


def _running(name: str, node: str, cpu: str, labels: dict[str, str]) -> dict[str, Any]:
    manifest = builders.pod(name, namespace=NS, labels=labels, requests={"cpu": cpu})
    manifest["spec"]["nodeName"] = node  # placed by hand: they are the cluster's given state
    return manifest


@pytest.fixture(scope="module")
def cluster(cluster_factory: ClusterFactory) -> KwokCluster:
    made = cluster_factory(builders.scheduler_config(), prefix="explain")
    with Kube(made.api_client()) as kube:
        kube.create_nodes(
            [
                builders.node("n0", labels={ZONE: "za"}),
                builders.node("n1", labels={ZONE: "za"}),
                builders.node("n2", labels={ZONE: "zb"}),
                builders.node("n3", labels={ZONE: "zb"}, pods=1),
                builders.node("n4", taints=[builders.taint("dedicated", "gpu")]),
            ]
        )
        kube.create(builders.namespace(NS))
        for manifest in (
            _running("db-0", "n0", "500m", {"app": "db"}),
            _running("db-1", "n1", "500m", {"app": "db"}),
            _running("web-0", "n0", "100m", {"app": "web"}),
            _running("web-1", "n1", "100m", {"app": "web"}),
            _running("fill-2", "n2", "3500m", {"app": "fill"}),
            _running("fill-3", "n3", "500m", {"app": "fill"}),
        ):
            kube.create(manifest)
        for app, count in (("db", 2), ("web", 2), ("fill", 2)):
            kube.wait_running(NS, {"app": app}, count, timeout=120)
        for name, (requests, spec, labels, _) in PENDING.items():
            manifest = builders.pod(
                name, namespace=NS, labels=labels or {"app": name}, requests=requests
            )
            manifest["spec"].update(spec)
            kube.create(manifest)
    return made


def _event(kube: Kube, name: str) -> str:
    def latest() -> str:
        selector = f"involvedObject.name={name},reason=FailedScheduling"
        items = kube.core.list_namespaced_event(NS, field_selector=selector).items
        items.sort(key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp)
        return str(items[-1].message) if items else ""

    return wait_for(
        latest,
        lambda message: message.startswith("0/5 nodes are available"),
        description=f"kube-scheduler's FailedScheduling event for {NS}/{name}",
        timeout=120,
    )


def _explain(cluster: KwokCluster, name: str) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "scheduler_ext", "explain", f"{NS}/{name}",
        "--kubeconfig", str(cluster.kubeconfig), "--output", "json", "--time-limit", "3",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.mark.parametrize("name", PENDING)
def test_explain_agrees_with_kube_schedulers_failed_scheduling_event(
    cluster: KwokCluster, name: str
) -> None:
    with Kube(cluster.api_client()) as kube:
        message = _event(kube, name)
        pod = kube.pod(name, NS)
        assert not pod.spec.node_name
    expected = PENDING[name][3]
    said = reasons_of(message)
    assert said == expected, message  # the scenario blocks the pod as designed
    document = _explain(cluster, name)
    assert document["reasonCounts"] == said, (message, document["summary"])
    assert reasons_of(document["summary"]) == said
    blocked = {reason for group in document["blockedNow"] for reason in group["reasons"]}
    assert set(said) <= blocked
    assert sum(len(group["nodes"]) for group in document["blockedNow"]) == 5
