"""``KubeClient.bind`` on its kept connections: one per thread and reused, a new one when the
server closed the old (before or instead of answering), the answer read by hand whatever its
framing, the deadline, the credentials (a refreshed token, client certificates over TLS), and the
urllib3 pool when a proxy is configured."""

from __future__ import annotations

import json
import shutil
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import pytest

from scheduler_ext.cluster import client as client_module
from scheduler_ext.cluster.client import KubeClient, post_on
from scheduler_ext.errors import BindError
from testkit.fake_api import JsonHandler, serving
from testkit.wait import wait_for

SUCCESS = {"kind": "Status", "status": "Success", "code": 201}


class FakeApi(JsonHandler):
    """Answers Binding POSTs; records (client port, path, headers) per request; ``script``
    says what to do with the n-th request (1-based, over all connections): answer, answer and
    close (with or without saying so), close without answering, or wait for ``hold``."""

    protocol_version = "HTTP/1.1"
    requests: ClassVar[list[tuple[int, str, dict[str, str]]]] = []
    ended: ClassVar[list[int]] = []
    """Client ports of the connections that ended."""
    script: ClassVar[dict[int, str]] = {}
    answer: ClassVar[tuple[int, dict[str, Any]]] = (201, SUCCESS)
    hold: ClassVar[threading.Event] = threading.Event()

    def finish(self) -> None:
        super().finish()
        self.ended.append(self.client_address[1])

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.client_address[1], urlparse(self.path).path, dict(self.headers)))
        step = self.script.get(len(self.requests), "answer")
        if step == "hang":
            self.hold.wait(30)
            self.close_connection = True
            return
        if step == "drop":
            self.close_connection = True
            return
        if step == "close-said":
            data = json.dumps(self.answer[1]).encode()
            self.send_response(self.answer[0])
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return
        self.reply(*self.answer)
        if step == "close-unsaid":
            self.close_connection = True


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    FakeApi.requests = []
    FakeApi.ended = []
    FakeApi.script = {}
    FakeApi.answer = (201, SUCCESS)
    FakeApi.hold = threading.Event()
    with serving(FakeApi, tmp_path) as path:
        yield path
    FakeApi.hold.set()


@pytest.fixture
def kube(kubeconfig: Path) -> Iterator[KubeClient]:
    client = KubeClient.connect(str(kubeconfig))
    try:
        yield client
    finally:
        client.close()


def ports() -> list[int]:
    return [port for port, _, _ in FakeApi.requests]


def test_one_thread_binds_on_one_kept_connection(kube: KubeClient) -> None:
    for name in ("a", "b", "c"):
        kube.bind("ns", name, "uid", "n1")
    assert len(FakeApi.requests) == 3
    assert len(set(ports())) == 1


def test_binds_in_turn_from_several_threads_share_one_connection(kube: KubeClient) -> None:
    for name in ("a", "b", "c"):
        thread = threading.Thread(target=kube.bind, args=("ns", name, "uid", "n1"))
        thread.start()
        thread.join(30)
    assert len(FakeApi.requests) == 3
    assert len(set(ports())) == 1


def test_binds_at_once_open_one_connection_each_and_later_ones_reuse_them(
    kube: KubeClient,
) -> None:
    FakeApi.script = {1: "hang", 2: "hang"}
    errors: list[BaseException] = []

    def bind(name: str) -> None:
        try:
            kube.bind("ns", name, "uid", "n1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bind, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(FakeApi.requests), lambda n: n == 2, description="both binds sent")
    FakeApi.hold.set()  # the held requests end unanswered: those connections are closed
    for thread in threads:
        thread.join(30)
    assert len(errors) == 2
    assert len(set(ports())) == 2
    FakeApi.script = {}
    for name in ("c", "d", "e"):
        kube.bind("ns", name, "uid", "n1")
    assert len(set(ports()[2:])) == 1  # one new connection, kept for the binds after it
    assert ports()[2] not in ports()[:2]


def test_after_close_the_next_bind_opens_a_new_connection(kube: KubeClient) -> None:
    kube.bind("ns", "a", "uid", "n1")
    kube.close()
    wait_for(
        lambda: FakeApi.ended,
        lambda ended: ports()[0] in ended,
        description="the kept connection closed by close()",
    )
    kube.bind("ns", "b", "uid", "n1")
    first, second = ports()
    assert first != second


@pytest.mark.parametrize("step", ["close-said", "close-unsaid"])
def test_a_connection_the_server_closed_is_replaced(kube: KubeClient, step: str) -> None:
    FakeApi.script = {1: step}
    kube.bind("ns", "a", "uid", "n1")
    kube.bind("ns", "b", "uid", "n1")
    kube.bind("ns", "c", "uid", "n1")
    first, second, third = ports()
    assert first != second == third


def test_a_kept_connection_dropped_unanswered_is_tried_once_more_on_a_new_one(
    kube: KubeClient,
) -> None:
    FakeApi.script = {2: "drop"}
    kube.bind("ns", "a", "uid", "n1")
    kube.bind("ns", "b", "uid", "n1")  # dropped on the kept connection, then sent again
    assert [path for _, path, _ in FakeApi.requests] == ["/api/v1/namespaces/ns/bindings"] * 3
    first, dropped, again = ports()
    assert first == dropped != again


def test_a_new_connection_dropped_unanswered_is_a_bind_error(kube: KubeClient) -> None:
    FakeApi.script = {1: "drop"}
    with pytest.raises(BindError, match=r"^binding ns/a to n1: \w+Error: ") as excinfo:
        kube.bind("ns", "a", "uid", "n1")
    assert "\n" not in str(excinfo.value)
    assert len(FakeApi.requests) == 1  # not sent again: the connection was not a kept one
    FakeApi.script = {}
    kube.bind("ns", "b", "uid", "n1")  # the next bind opens a new connection
    assert len(set(ports())) == 2


def test_an_unanswered_bind_fails_at_its_deadline(
    kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "BIND_TIMEOUT_SECONDS", 0.3)
    FakeApi.script = {1: "hang"}
    with pytest.raises(BindError, match=r"^binding ns/a to n1: \w+Error: "):
        kube.bind("ns", "a", "uid", "n1")
    FakeApi.hold.set()
    kube.bind("ns", "b", "uid", "n1")  # a new connection after the timed-out one


def test_an_error_answer_is_a_bind_error_and_the_connection_stays(kube: KubeClient) -> None:
    FakeApi.answer = (403, {"kind": "Status", "message": 'pods "a" is forbidden', "code": 403})
    with pytest.raises(BindError) as excinfo:
        kube.bind("ns", "a", "uid", "n1")
    assert str(excinfo.value) == 'binding ns/a to n1: 403 Forbidden: pods "a" is forbidden'
    FakeApi.answer = (201, SUCCESS)
    kube.bind("ns", "b", "uid", "n1")
    assert len(set(ports())) == 1


def test_the_token_is_asked_for_on_every_bind(kube: KubeClient) -> None:
    """The kubernetes client refreshes an expiring token in ``refresh_api_key_hook``."""
    tokens = iter(["Bearer first", "Bearer second"])

    def refresh(configuration: Any) -> None:
        configuration.api_key["BearerToken"] = next(tokens)

    kube.api.configuration.refresh_api_key_hook = refresh
    kube.bind("ns", "a", "uid", "n1")
    kube.bind("ns", "b", "uid", "n1")
    assert [h["authorization"] for _, _, h in FakeApi.requests] == [
        "Bearer first",
        "Bearer second",
    ]


def test_a_header_with_a_line_break_is_refused_before_sending(kube: KubeClient) -> None:
    kube.api.configuration.refresh_api_key_hook = None  # (the loader's would set it back)
    kube.api.configuration.api_key["BearerToken"] = "Bearer t\r\nX-Injected: 1"
    with pytest.raises(
        BindError, match=r"^binding ns/a to n1: ValueError: cannot send the request"
    ):
        kube.bind("ns", "a", "uid", "n1")
    assert FakeApi.requests == []


def test_with_a_proxy_the_bind_goes_through_the_pool(kubeconfig: Path) -> None:
    """The fake API server is the proxy too: it is sent the absolute URL of the real host."""
    from kubernetes import client as k8s

    configuration = k8s.Configuration()
    configuration.host = "http://api.example.invalid:6443"
    configuration.proxy = json.loads(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    configuration.api_key = {"authorization": "Bearer t"}
    kube = KubeClient(k8s.ApiClient(configuration))
    try:
        kube.bind("ns", "a", "uid", "n1")
    finally:
        kube.close()
    [(_, path, headers)] = FakeApi.requests
    assert path == "/api/v1/namespaces/ns/bindings"
    assert headers["authorization"] == "Bearer t"


def test_the_pool_path_sends_the_same_request(kubeconfig: Path) -> None:
    kept, pooled = (
        KubeClient.connect(str(kubeconfig), kept_connections=kept) for kept in (True, False)
    )
    try:
        kept.bind("ns", "a", "uid", "n1")
        pooled.bind("ns", "a", "uid", "n1")
    finally:
        kept.close()
        pooled.close()
    (_, kept_path, kept_headers), (_, pooled_path, pooled_headers) = FakeApi.requests
    assert kept_path == pooled_path
    ignored = {"Accept-Encoding", "Connection"}  # urllib3's own additions
    assert {k: v for k, v in kept_headers.items() if k not in ignored} == {
        k: v for k, v in pooled_headers.items() if k not in ignored
    }


# --- the request and its answer on one connection (h11) -------------------------------------------


class Pieces:
    """A socket whose reads return the given pieces one by one, then b"" (closed)."""

    def __init__(self, data: bytes, size: int) -> None:
        self.pieces = [data[i : i + size] for i in range(0, len(data), size)]
        self.sent = b""

    def settimeout(self, timeout: float) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def recv(self, limit: int) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""


def read_answer(sock: Pieces, deadline: float) -> tuple[int, str, bytes, bool]:
    """The answer ``sock`` gives to a bind's POST."""
    return post_on(sock, "/p", "h:1", {}, b"{}", deadline)


STATUS = b'{"kind":"Status","message":"pod p is already assigned to node \\"n0\\""}'
ANSWERS = {
    "content-length": (
        b"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(STATUS), STATUS),
        (409, "Conflict", STATUS, True),
    ),
    "chunked": (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        (201, "Created", b"hello world", True),
    ),
    "chunked-trailers": (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n",
        (201, "Created", b"ok", True),
    ),
    "interim-then-final": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        (201, "Created", b"ok", True),
    ),
    "connection-close": (
        b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        (201, "Created", b"ok", False),
    ),
    "until-closed": (b"HTTP/1.0 500 Oops\r\n\r\nbroken", (500, "Oops", b"broken", False)),
    "no-reason": (b"HTTP/1.1 201\r\nContent-Length: 0\r\n\r\n", (201, "", b"", True)),
}


@pytest.mark.parametrize("size", [1, 7, 1 << 16], ids=["byte-by-byte", "7-bytes", "at-once"])
@pytest.mark.parametrize("case", list(ANSWERS))
def test_answers_are_read_whatever_their_framing_and_pieces(case: str, size: int) -> None:
    data, expected = ANSWERS[case]
    assert read_answer(Pieces(data, size), deadline=float("inf")) == expected


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", client_module.ConnectionClosedError),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nshort", ConnectionError),
        (b"SSH-2.0-OpenSSH\r\n\r\n", ValueError),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 99999999\r\n\r\n", ValueError),
        (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ValueError),
    ],
    ids=["nothing", "cut-short", "not-http", "too-long", "bad-chunk"],
)
def test_broken_answers_raise(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_answer(Pieces(data, 1 << 16), deadline=float("inf"))


def test_bytes_after_the_answer_make_the_connection_unusable() -> None:
    data = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokEXTRA"
    assert read_answer(Pieces(data, 1 << 16), deadline=float("inf")) == (
        201,
        "Created",
        b"ok",
        False,
    )


def test_a_passed_deadline_raises_a_timeout() -> None:
    with pytest.raises(TimeoutError):
        read_answer(Pieces(b"HTTP/1.1 201 Created\r\n\r\n", 4), deadline=0.0)


def test_the_request_is_one_buffer_with_its_length() -> None:
    sock = Pieces(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 1 << 16)
    post_on(sock, "/p", "h:1", {"A": "b"}, b"{}", deadline=float("inf"))
    assert sock.sent == b"POST /p HTTP/1.1\r\nHost: h:1\r\nA: b\r\nContent-Length: 2\r\n\r\n{}"


# --- TLS with client certificates -----------------------------------------------------------------


@pytest.mark.slow  # openssl makes the certificates, as processes
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_over_tls_with_a_client_certificate(tmp_path: Path) -> None:
    from testkit.certs import ca_pair, signed_pair

    FakeApi.requests, FakeApi.script, FakeApi.answer = [], {}, (201, SUCCESS)
    ca = ca_pair(tmp_path, "ca")
    server_pair = signed_pair(tmp_path, "server", ca, server=True)
    client_pair = signed_pair(tmp_path, "client", ca)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*server_pair)
    context.load_verify_locations(cafile=str(ca[0]))
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def kubeconfig(name: str, with_certificate: bool) -> str:
        user = {"client-certificate": str(client_pair[0]), "client-key": str(client_pair[1])}
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "tls",
                            "cluster": {
                                "server": f"https://127.0.0.1:{server.server_port}",
                                "certificate-authority": str(ca[0]),
                            },
                        }
                    ],
                    "users": [{"name": "u", "user": user if with_certificate else {"token": "t"}}],
                    "contexts": [{"name": "tls", "context": {"cluster": "tls", "user": "u"}}],
                    "current-context": "tls",
                }
            )
        )
        return str(path)

    try:
        kube = KubeClient.connect(kubeconfig("with", True))
        try:
            kube.bind("ns", "a", "uid", "n1")
            kube.bind("ns", "b", "uid", "n1")
            FakeApi.script = {3: "drop"}  # the kept TLS connection ends unanswered: sent again
            kube.bind("ns", "c", "uid", "n1")
        finally:
            kube.close()
        assert len(FakeApi.requests) == 4
        first, second, dropped, again = ports()
        assert first == second == dropped != again
        FakeApi.script = {}
        anonymous = KubeClient.connect(kubeconfig("without", False))
        try:
            with pytest.raises(BindError, match=r"^binding ns/d to n1: "):
                anonymous.bind("ns", "d", "uid", "n1")
        finally:
            anonymous.close()
        assert len(FakeApi.requests) == 4
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
