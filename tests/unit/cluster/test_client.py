"""The live reader lists every kind (paging through long lists) from a fake API server, read-only,
and turns every failure into one ClusterReadError line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from scheduler_ext.cluster.client import read_cluster
from scheduler_ext.errors import ClusterReadError
from testkit.builders import api_node, api_pod
from testkit.fake_api import JsonHandler, serving

NODE = api_node("n1", allocatable={"cpu": "2", "memory": "4Gi", "pods": "110"})


def pod(name: str, node: str | None) -> dict[str, Any]:
    return api_pod(name, node_name=node, requests={"cpu": "250m"})


class FakeApi(JsonHandler):
    """Typed lists as the API server sends them (items without kind); pods in two pages."""

    forbidden: ClassVar[set[str]] = set()
    methods: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.methods.append("GET")
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path in self.forbidden:
            self.reply(
                403,
                {"kind": "Status", "message": 'pods is forbidden: User "x" cannot list'},
            )
            return
        body: dict[str, Any]
        if url.path == "/api/v1/nodes":
            body = {"kind": "NodeList", "metadata": {}, "items": [NODE]}
        elif url.path == "/api/v1/pods":
            if query.get("continue") == ["page-2"]:
                body = {"kind": "PodList", "metadata": {}, "items": [pod("b", None)]}
            else:
                body = {
                    "kind": "PodList",
                    "metadata": {"continue": "page-2"},
                    "items": [pod("a", "n1"), pod("c", "new-node")],
                }
        elif url.path == "/api/v1/namespaces":
            body = {"kind": "NamespaceList", "items": [{"metadata": {"name": "default"}}]}
        elif url.path == "/apis/policy/v1/poddisruptionbudgets":
            body = {"kind": "PodDisruptionBudgetList", "items": []}
        elif url.path == "/apis/scheduling.k8s.io/v1/priorityclasses":
            body = {"kind": "PriorityClassList", "items": [{"metadata": {"name": "p"}, "value": 7}]}
        else:
            self.reply(404, {"kind": "Status", "message": "not found"})
            return
        self.reply(200, body)


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    FakeApi.forbidden = set()
    FakeApi.methods = []
    with serving(FakeApi, tmp_path) as path:
        yield path


def test_reads_every_kind_and_page(kubeconfig: Path) -> None:
    cluster = read_cluster(str(kubeconfig))
    assert [n.name for n in cluster.nodes] == ["n1"]
    assert [(p.name, p.node_name, p.requests.as_dict()) for p in cluster.pods] == [
        ("a", "n1", {"cpu": 250}),
        ("c", "new-node", {"cpu": 250}),  # a node created after the node list: kept, not fatal
        ("b", None, {"cpu": 250}),
    ]
    assert [(pc.name, pc.value) for pc in cluster.priority_classes] == [("p", 7)]
    assert [ns.name for ns in cluster.namespaces] == ["default"]
    assert set(FakeApi.methods) == {"GET"}


def test_forbidden_is_one_line(kubeconfig: Path) -> None:
    FakeApi.forbidden = {"/api/v1/pods"}
    with pytest.raises(ClusterReadError) as excinfo:
        read_cluster(str(kubeconfig))
    assert (
        str(excinfo.value) == 'listing pods: 403 Forbidden: pods is forbidden: User "x" cannot list'
    )


def test_missing_kubeconfig(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ClusterReadError, match=f"^cannot load kubeconfig {missing}: ") as excinfo:
        read_cluster(str(missing))
    assert "\n" not in str(excinfo.value)


def test_unreachable_server(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    with pytest.raises(ClusterReadError, match=r"^listing priorityclasses: ") as excinfo:
        read_cluster(str(path))
    assert "\n" not in str(excinfo.value)
