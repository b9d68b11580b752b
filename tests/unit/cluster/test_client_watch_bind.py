"""``KubeClient.watch`` and ``KubeClient.bind`` against a fake API server (stdlib http.server on
127.0.0.1): the watch stream's events and its ends (410 Gone as an ERROR event or as the HTTP
status, other errors, malformed lines), and a bind that succeeds or conflicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from scheduler_ext.cluster.client import KubeClient
from scheduler_ext.errors import BindError, ClusterReadError, WatchExpired
from testkit.builders import api_node
from testkit.fake_api import JsonHandler, connected


def node(name: str, version: str) -> dict[str, Any]:
    return api_node(name, ready=None, resource_version=version)


STREAM = [
    {"type": "ADDED", "object": node("n1", "11")},
    {"type": "MODIFIED", "object": node("n1", "12")},
    {"type": "BOOKMARK", "object": {"kind": "Node", "metadata": {"resourceVersion": "13"}}},
    {"type": "DELETED", "object": node("n1", "14")},
]
GONE = {
    "type": "ERROR",
    "object": {
        "kind": "Status",
        "status": "Failure",
        "message": "too old resource version: 10 (20)",
        "reason": "Expired",
        "code": 410,
    },
}


class FakeApi(JsonHandler):
    """Serves one scripted watch stream on /api/v1/nodes and records binding POSTs."""

    lines: ClassVar[list[bytes]] = []
    watch_status: ClassVar[int] = 200
    watch_queries: ClassVar[list[dict[str, list[str]]]] = []
    bind_status: ClassVar[int] = 201
    bindings: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    bind_headers: ClassVar[list[dict[str, str]]] = []
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path != "/api/v1/nodes" or query.get("watch") != ["true"]:
            self.reply(404, {"kind": "Status", "message": "not found", "code": 404})
            return
        self.watch_queries.append(query)
        if self.watch_status != 200:
            self.reply(
                self.watch_status,
                {"kind": "Status", "message": "too old resource version", "code": 410},
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in self.lines:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bindings.append((urlparse(self.path).path, body))
        self.bind_headers.append(dict(self.headers))
        if self.bind_status == 201:
            self.reply(201, {"kind": "Status", "status": "Success", "code": 201})
        else:
            self.reply(
                self.bind_status,
                {
                    "kind": "Status",
                    "status": "Failure",
                    "message": "Operation cannot be fulfilled on pods/binding "
                    f'"{body["metadata"]["name"]}": pod p is already assigned to node "n0"',
                    "reason": "Conflict",
                    "code": self.bind_status,
                },
            )


def events(*items: dict[str, Any] | bytes) -> list[bytes]:
    return [
        item if isinstance(item, bytes) else json.dumps(item).encode() + b"\n" for item in items
    ]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[KubeClient]:
    FakeApi.lines = events(*STREAM)
    FakeApi.watch_status = 200
    FakeApi.watch_queries = []
    FakeApi.bind_status = 201
    FakeApi.bindings = []
    FakeApi.bind_headers = []
    with connected(FakeApi, tmp_path) as kube:
        yield kube


def test_watch_yields_every_event_type_in_order(client: KubeClient) -> None:
    got = list(client.watch("Node", "10", timeout=30))
    assert got == [("OPENED", {}), *((e["type"], e["object"]) for e in STREAM)]
    [query] = FakeApi.watch_queries
    assert query["resourceVersion"] == ["10"]
    assert query["allowWatchBookmarks"] == ["true"]
    assert query["timeoutSeconds"] == ["30"]


def test_watch_skips_blank_lines(client: KubeClient) -> None:
    FakeApi.lines = events(b"\n", STREAM[0], b"  \n", STREAM[1])
    kinds = [kind for kind, _ in client.watch("Node", "10", timeout=30)]
    assert kinds == ["OPENED", "ADDED", "MODIFIED"]


def test_gone_error_event_raises_watch_expired_after_the_events_before_it(
    client: KubeClient,
) -> None:
    FakeApi.lines = events(STREAM[0], GONE, STREAM[1])
    stream = client.watch("Node", "10", timeout=30)
    assert next(stream) == ("OPENED", {})
    assert next(stream) == ("ADDED", STREAM[0]["object"])
    with pytest.raises(WatchExpired, match=r"^watching Node: too old resource version: 10 \(20\)$"):
        next(stream)


def test_gone_http_status_raises_watch_expired(client: KubeClient) -> None:
    FakeApi.watch_status = 410
    with pytest.raises(WatchExpired, match=r"^watching Node: 410 Gone"):
        list(client.watch("Node", "10", timeout=30))


def test_other_error_event_is_a_read_error(client: KubeClient) -> None:
    error = {"type": "ERROR", "object": {"kind": "Status", "message": "etcd down", "code": 500}}
    FakeApi.lines = events(error)
    with pytest.raises(ClusterReadError, match=r"^watching Node: etcd down$"):
        list(client.watch("Node", "10", timeout=30))


@pytest.mark.parametrize(
    "line",
    [b"not json\n", b'{"type": "ADDED"}\n', b'["ADDED"]\n'],
    ids=["text", "no-object", "list"],
)
def test_malformed_lines_are_one_line_read_errors(client: KubeClient, line: bytes) -> None:
    FakeApi.lines = events(STREAM[0], line)
    with pytest.raises(ClusterReadError, match=r"^watching Node: ") as excinfo:
        list(client.watch("Node", "10", timeout=30))
    assert "\n" not in str(excinfo.value)


def test_bind_posts_the_binding_with_the_uid_precondition(client: KubeClient) -> None:
    client.bind("ns", "p", "uid-1", "n1")
    [(path, body)] = FakeApi.bindings
    assert path == "/api/v1/namespaces/ns/bindings"  # what create_namespaced_binding POSTs to
    assert body == {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p", "namespace": "ns", "uid": "uid-1"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"},
    }


def test_bind_without_uid_sends_no_precondition(client: KubeClient) -> None:
    client.bind("ns", "p", "", "n1")
    [(_, body)] = FakeApi.bindings
    assert body["metadata"] == {"name": "p", "namespace": "ns"}


def test_bind_conflict_is_one_bind_error_line(client: KubeClient) -> None:
    FakeApi.bind_status = 409
    with pytest.raises(BindError) as excinfo:
        client.bind("ns", "p", "uid-1", "n1")
    assert str(excinfo.value) == (
        "binding ns/p to n1: 409 Conflict: Operation cannot be fulfilled on pods/binding "
        '"p": pod p is already assigned to node "n0"'
    )


def test_bind_sends_the_kubeconfig_token_and_json(client: KubeClient) -> None:
    client.bind("ns", "p", "uid-1", "n1")
    [headers] = FakeApi.bind_headers
    assert headers["authorization"] == "Bearer t"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("OpenAPI-Generator/")


def test_every_error_status_maps_to_a_bind_error(
    client: KubeClient,
) -> None:
    for _ in range(3):
        client.bind("ns", "p", "uid-1", "n1")
    for status, line in [
        (404, "404 Not Found: Operation cannot be fulfilled"),
        (500, "500 Internal Server Error: Operation cannot be fulfilled"),
    ]:
        FakeApi.bind_status = status
        with pytest.raises(BindError, match=rf"^binding ns/p to n1: {line}"):
            client.bind("ns", "p", "uid-1", "n1")
    FakeApi.bind_status = 201
    client.bind("ns", "p", "uid-1", "n1")
    assert len(FakeApi.bindings) == 6


def test_bind_to_an_unreachable_server_is_one_bind_error_line(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "f", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "f", "context": {"cluster": "f", "user": "u"}}],
                "current-context": "f",
            }
        )
    )
    kube = KubeClient.connect(str(kubeconfig))
    try:
        with pytest.raises(BindError, match=r"^binding ns/p to n1: \w+Error: ") as excinfo:
            kube.bind("ns", "p", "", "n1")
        assert "\n" not in str(excinfo.value)
    finally:
        kube.close()
