"""Fast tests of the harness helpers themselves (no cluster, no binaries)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from testkit import builders
from testkit.bins import KUBE_BINS_SCRIPT, REPO_ROOT, KubeBins
from testkit.cluster import KwokCluster, free_ports, unique_name
from testkit.recording import RecordingExtender
from testkit.sandbox import Sandbox
from testkit.shapes import differences, shape
from testkit.wait import WaitTimeout, stays, wait_for

RECORDINGS = REPO_ROOT / "tests" / "data" / "extender-requests"


def test_shape_keeps_keys_and_types_not_values() -> None:
    a = {"Pod": {"metadata": {"name": "a", "labels": {"x": "1"}}}, "NodeNames": ["n0", "n1"]}
    b = {"Pod": {"metadata": {"name": "b", "labels": {"y": "2", "z": "3"}}}, "NodeNames": ["m"]}
    assert shape(a) == shape(b)
    assert shape(a)["Pod"]["metadata"]["labels"] == {"*": "string"}
    assert differences(shape(a), shape(b)) == []


def test_shape_differences_name_the_path() -> None:
    expected = shape({"Pod": {"spec": {"priority": 1}}, "Nodes": None})
    actual = shape({"Pod": {"spec": {"priority": "1"}}, "nodes": None})
    assert differences(expected, actual) == [
        "$.Nodes: missing (expected 'null')",
        "$.Pod.spec.priority: expected 'number', got 'string'",
        "$.nodes: unexpected (got 'null')",
    ]


def test_shape_merges_list_items() -> None:
    merged = shape([{"a": 1}, {"b": "x"}, {"a": None}])
    assert merged == [{"a": "null|number", "b": "string"}]


def test_wait_for_returns_the_value_that_satisfied_it() -> None:
    values = iter([1, 2, 3, 4])
    assert wait_for(lambda: next(values), lambda v: v >= 3, description="3", interval=0) == 3


def test_wait_for_timeout_says_what_it_saw_last() -> None:
    with pytest.raises(WaitTimeout) as info:
        wait_for(lambda: {"phase": "Pending"}, lambda v: False, description="x", timeout=0.05)
    assert "last seen: {'phase': 'Pending'}" in str(info.value)
    assert info.value.last_seen == {"phase": "Pending"}


def test_wait_for_retries_errors_unless_told_not_to() -> None:
    def boom() -> int:
        raise KeyError("gone")

    with pytest.raises(WaitTimeout, match="last error: KeyError"):
        wait_for(boom, bool, description="x", timeout=0.05, interval=0.01)
    with pytest.raises(KeyError):
        wait_for(boom, bool, description="x", timeout=5, retry=lambda exc: False)


def test_stays_fails_on_the_first_violation() -> None:
    values = iter([1, 1, 2])
    with pytest.raises(AssertionError, match="saw 2"):
        stays(lambda: next(values), lambda v: v == 1, description="one", duration=5, interval=0)


def test_node_is_kwok_managed_with_given_allocatable_labels_taints() -> None:
    n = builders.node(
        "n1",
        cpu="8",
        memory="16Gi",
        pods=20,
        extra={"example.com/gpu": 2},
        labels={"zone": "a"},
        taints=[builders.taint("dedicated", "x")],
    )
    assert n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert n["metadata"]["labels"]["zone"] == "a"
    assert n["status"]["allocatable"] == {
        "cpu": "8",
        "memory": "16Gi",
        "pods": "20",
        "example.com/gpu": "2",
    }
    assert n["status"]["capacity"] == n["status"]["allocatable"]
    assert n["spec"]["taints"] == [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]


def test_workloads_select_their_own_pods() -> None:
    d = builders.deployment(
        "web", namespace="ns", replicas=3, requests={"cpu": 0.5}, priority_class_name="high"
    )
    assert d["spec"]["selector"]["matchLabels"] == d["spec"]["template"]["metadata"]["labels"]
    container = d["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "0.5"}
    assert d["spec"]["template"]["spec"]["priorityClassName"] == "high"
    rs = builders.replicaset("r", namespace="ns", replicas=1, labels={"app": "x"})
    assert rs["kind"] == "ReplicaSet"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "x"}
    with pytest.raises(ValueError, match="exactly one"):
        builders.pdb("p", namespace="ns", match_labels={"app": "x"})


def test_api_objects_carry_only_the_fields_given() -> None:
    assert builders.api_node("n", ready=None) == {"metadata": {"name": "n"}}
    assert builders.api_node("n", allocatable={"cpu": 2}, heartbeat="t0", typed=True) == {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "status": {
            "allocatable": {"cpu": "2"},
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t0"}],
        },
    }
    owner = builders.owner_reference("ReplicaSet", "rs", uid="u")
    pending = builders.api_pod("p", requests={"cpu": "100m"}, owner=owner, unschedulable=True)
    assert pending == {
        "metadata": {"name": "p", "namespace": "default", "ownerReferences": [owner]},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]},
        "status": {"phase": "Pending", "conditions": [builders.UNSCHEDULABLE_CONDITION]},
    }
    bound = builders.api_pod("p", node_name="n1", spec={"containers": []}, typed=True)
    assert bound["kind"] == "Pod"
    assert bound["spec"] == {"nodeName": "n1", "containers": []}
    assert bound["status"] == {"phase": "Running"}
    budget = builders.pdb("b", namespace="ns", match_labels={}, max_unavailable=1)
    assert "status" not in budget
    assert builders.object_list([budget])["items"] == [budget]


def test_scheduler_config_uses_the_strict_decoders_key_names() -> None:
    cfg = builders.scheduler_config(
        extenders=[builders.extender("http://127.0.0.1:1/x", bind_verb="bind")]
    )
    entry = cfg["extenders"][0]
    assert entry["enableHTTPS"] is False
    assert entry["nodeCacheCapable"] is True
    assert entry["bindVerb"] == "bind"
    assert cfg["leaderElection"] == {"leaderElect": False}


def test_cluster_refuses_a_scheduler_config_with_client_connection(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clientConnection"):
        KwokCluster(
            KubeBins(tmp_path),
            name="x",
            base_dir=tmp_path,
            scheduler_config={"clientConnection": {"qps": 1}},
        )


def test_sandbox_ids_are_dns_labels() -> None:
    class FakeKube:
        def __init__(self) -> None:
            self.created: list[dict[str, Any]] = []

        def create(self, manifest: dict[str, Any]) -> None:
            self.created.append(manifest)

    fake = FakeKube()
    box = Sandbox(fake, prefix="Weird_Name[param-1]")  # type: ignore[arg-type]
    assert fake.created[0]["metadata"]["name"] == box.namespace
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", box.id), box.id
    assert box.id.startswith("weird-name-param-1-")
    assert box.node_selector == {"e2e.scheduler-ext.io/sandbox": box.id}


def test_free_ports_and_names_are_distinct() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    assert unique_name("a") != unique_name("a")


@pytest.mark.slow  # runs hack/kube-bins.sh --key
def test_kube_bins_key_follows_versions_env() -> None:
    versions = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "hack" / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    key = subprocess.run(
        ["bash", str(KUBE_BINS_SCRIPT), "--key"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name in ("KUBE_VERSION", "ETCD_VERSION", "HELM_VERSION", "KWOK_VERSION"):
        assert versions[name] in key


def _script_key(script: str, *args: str) -> str:
    return subprocess.run(
        ["bash", str(REPO_ROOT / "hack" / script), *args, "--key"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.slow  # runs hack/kube-bins.sh --node --key and hack/kind-node-image.sh --key
def test_node_binaries_and_kind_node_image_keys_follow_versions_env() -> None:
    versions = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "hack" / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    node_key = _script_key("kube-bins.sh", "--node")
    kind_key = _script_key("kind-node-image.sh")

    assert node_key.startswith(f"node-k8s-{versions['KUBE_VERSION']}_")
    assert node_key != _script_key("kube-bins.sh")
    for name in (
        "KIND_VERSION",
        "KUBE_VERSION",
        "CONTAINERD_VERSION",
        "RUNC_VERSION",
        "COREDNS_VERSION",
    ):
        assert versions[name] in kind_key
    assert kind_key.endswith(f"_r{versions['KIND_NODE_RECIPE']}")


# -- the recording extender answers the committed recordings validly -------------------------------


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def _recording(name: str) -> Any:
    return json.loads((RECORDINGS / name).read_text())


def test_recording_extender_echoes_nodes_and_candidates() -> None:
    with RecordingExtender() as ext:
        cache_filter = _recording("filter.node-cache.json")
        answer = _post(ext.url("cache") + "/filter", cache_filter)
        assert answer["NodeNames"] == cache_filter["NodeNames"]
        assert answer["Nodes"] is None
        assert answer["Error"] == ""

        full_filter = _recording("filter.full-nodes.json")
        answer = _post(ext.url("nocache") + "/filter", full_filter)
        assert answer["Nodes"] == full_filter["Nodes"]
        assert answer["NodeNames"] is None

        answer = _post(ext.url("cache") + "/prioritize", _recording("prioritize.node-cache.json"))
        assert sorted(h["Host"] for h in answer) == sorted(cache_filter["NodeNames"])
        assert {h["Score"] for h in answer} == {0}

        full_preempt = _recording("preempt.full-nodes.json")
        answer = _post(ext.url("nocache") + "/preempt", full_preempt)
        expected = {
            node: [p["metadata"]["uid"] for p in victims["Pods"]]
            for node, victims in full_preempt["NodeNameToVictims"].items()
        }
        got = {
            node: [p["UID"] for p in victims["Pods"]]
            for node, victims in answer["NodeNameToMetaVictims"].items()
        }
        assert got == expected

        meta_preempt = _recording("preempt.node-cache.json")
        answer = _post(ext.url("cache") + "/preempt", meta_preempt)
        assert answer["NodeNameToMetaVictims"] == meta_preempt["NodeNameToMetaVictims"]

        # Without a client it cannot bind, and says so (the scheduler would retry the pod).
        answer = _post(ext.url("cache") + "/bind", _recording("bind.node-cache.json"))
        assert "no client" in answer["Error"]

        with pytest.raises(urllib.error.HTTPError) as info:
            _post(ext.url("cache") + "/unknown", {})
        info.value.close()
        assert info.value.code == 404

    assert [(r.prefix, r.verb) for r in ext.records] == [
        ("cache", "filter"),
        ("nocache", "filter"),
        ("cache", "prioritize"),
        ("nocache", "preempt"),
        ("cache", "preempt"),
        ("cache", "bind"),
    ]
