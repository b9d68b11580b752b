"""Read the live cluster through the Kubernetes API, read-only, into the same ``Cluster`` a snapshot
file gives.

This is the only module that imports the ``kubernetes`` package, and it does so inside
``read_cluster``: offline planning from a snapshot never pays for (or depends on) the client
library. Responses are taken as the raw JSON the API server sends (``_preload_content=False``)
rather than as the client's model objects: the raw form is exactly what ``kubectl get -o json``
prints, so live reads and snapshot files go through one converter, and decoding 30,000 pods as JSON
is an order of magnitude faster than building and re-serializing the generated models (which also
drop fields newer than the client).

Lists are paged (``limit``/``continue``) so that a large cluster is not one giant response. The
reader only ever issues GET requests.

``KubeClient`` serves the extender service: raw lists with their resourceVersion and raw watch
streams for the informers (``cluster/informer.py``), the pod's Binding for the bind verb, and the
service's own objects in its namespace (PackingPlans and the leader-election Lease, one section
below). Responses stay raw JSON there too (watch events are decoded line by line from the
stream), and every failure becomes one of this project's errors with one line: ``WatchExpired``
for 410 Gone (relist), ``ClusterReadError`` otherwise, ``BindError`` for binds,
``ClusterWriteError`` (``WriteConflict`` for 409) for the service's own objects.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from scheduler_ext.cluster.eviction import EvictionOutcome, EvictionResult, classify
from scheduler_ext.cluster.informer import OPENED
from scheduler_ext.cluster.kinds import DEFAULT_NAMESPACE, KINDS, PLAN_GROUP, PLAN_VERSION, Kind
from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster
from scheduler_ext.errors import (
    BindError,
    ClusterReadError,
    ClusterWriteError,
    ExecutionError,
    SnapshotError,
    WatchExpired,
    WriteConflict,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
REQUEST_TIMEOUT_SECONDS = 60


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _api_client(kubeconfig: str | None, pool_size: int | None = None) -> Any:
    """An ApiClient for the explicit kubeconfig, else $KUBECONFIG or ~/.kube/config, else the
    pod's service account (in-cluster); ``pool_size`` connections kept per host if given."""
    from kubernetes import client
    from kubernetes import config as typed_config

    # Typed in some client versions, untyped in others: use it as Any to stay mypy-clean on both.
    config: Any = typed_config
    configuration = client.Configuration()
    if kubeconfig:
        try:
            config.load_kube_config(
                config_file=kubeconfig, client_configuration=configuration, persist_config=False
            )
        except Exception as exc:
            raise ClusterReadError(
                f"cannot load kubeconfig {kubeconfig}: {_one_line(exc)}"
            ) from exc
    else:
        try:
            config.load_kube_config(client_configuration=configuration, persist_config=False)
        except Exception as file_exc:
            logger.debug("no usable kubeconfig (%s); trying in-cluster config", file_exc)
            configuration = client.Configuration()
            try:
                config.load_incluster_config(client_configuration=configuration)
            except Exception as exc:
                raise ClusterReadError(
                    f"cannot load kubeconfig: {_one_line(file_exc)}; "
                    f"and not in a cluster: {_one_line(exc)}"
                ) from exc
    if pool_size is not None:
        configuration.connection_pool_maxsize = pool_size  # read when the ApiClient is built
    return client.ApiClient(configuration)


def _describe(exc: BaseException) -> str:
    """One line for a failed request: HTTP status and the API server's message, or the cause."""
    status = getattr(exc, "status", None)
    if status is not None:
        return _describe_status(status, getattr(exc, "reason", ""), getattr(exc, "body", None))
    return _one_line(f"{type(exc).__name__}: {exc}")


def _describe_status(status: object, reason: object, body: object) -> str:
    """One line for an HTTP error answer: status, reason and the API server's message."""
    message = ""
    if body:
        try:
            decoded = json.loads(body)  # type: ignore[arg-type]
            if isinstance(decoded, Mapping):
                message = str(decoded.get("message") or "")
        except (TypeError, ValueError):
            message = ""
    text = f"{status} {reason or ''}".strip()
    return _one_line(f"{text}: {message}" if message else text)


def _pages(what: str, list_call: Callable[..., Any]) -> Iterator[Mapping[str, Any]]:
    """Every page of one list call, as decoded JSON lists (``PodList`` ...)."""
    token: str | None = None
    while True:
        try:
            response = list_call(
                limit=PAGE_SIZE,
                _continue=token,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            page = orjson.loads(response.data)
        except ClusterReadError:
            raise
        except Exception as exc:
            raise ClusterReadError(f"listing {what}: {_describe(exc)}") from exc
        if not isinstance(page, Mapping):
            raise ClusterReadError(f"listing {what}: the API server sent no list")
        yield page
        metadata = page.get("metadata")
        token = metadata.get("continue") if isinstance(metadata, Mapping) else None
        if not token:
            return


def _list_calls(api: Any) -> dict[Kind, Callable[..., Any]]:
    """Each kind's list (and, with ``watch=True``, watch) call across namespaces, from the table."""
    from kubernetes import client

    apis: dict[str, Any] = {}
    calls: dict[Kind, Callable[..., Any]] = {}
    for kind in KINDS:
        if kind.api not in apis:
            apis[kind.api] = getattr(client, kind.api)(api)
        calls[kind] = getattr(apis[kind.api], kind.list_call)
    return calls


def read_cluster(kubeconfig: str | None) -> Cluster:
    """Nodes, pods (all namespaces), policy/v1 PodDisruptionBudgets, PriorityClasses and
    Namespaces of the live cluster; ClusterReadError on any failure, with one line."""
    try:
        import kubernetes  # noqa: F401
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ClusterReadError(f"the kubernetes package is not installed: {exc}") from exc

    api = _api_client(kubeconfig)
    try:
        lists = _list_calls(api)
        objects: list[Mapping[str, Any]] = []
        for kind in KINDS:
            objects.extend(_pages(kind.plural, lists[kind]))
            logger.debug("listed %s", kind.plural)
    finally:
        close = getattr(api, "close", None)
        if close is not None:
            close()
    host = getattr(getattr(api, "configuration", None), "host", "the API server")
    try:
        # Nodes are listed before pods: a node added in between is missing, and its pods are kept
        # (the model ignores pods on unknown nodes) instead of failing the whole read.
        return cluster_from_objects(objects, source=str(host), strict_nodes=False)
    except SnapshotError as exc:
        raise ClusterReadError(f"reading {host}: {exc}") from exc


# --- the service's client ---------------------------------------------------------------------

WatchEvent = tuple[str, Mapping[str, Any]]
"""(ADDED | MODIFIED | DELETED | BOOKMARK, the object as raw JSON), or (OPENED, {}) first, once
the server has answered the watch request."""

BIND_TIMEOUT_SECONDS = 5
WRITE_TIMEOUT_SECONDS = 10
"""Evictions, patches and Events of plan execution (off the request path)."""
CONNECT_TIMEOUT_SECONDS = 10
POOL_SIZE = 64
"""Connections the ApiClient's pool keeps (one per watch, plus writes, and binds when a proxy is
configured), and idle connections the binds keep of their own."""


def _read_timeout(exc: BaseException) -> bool:
    """urllib3's ReadTimeoutError, also as the cause of what wraps it while streaming (matched
    by name: urllib3 comes with the Kubernetes client, not as a dependency of ours)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if type(seen).__name__ == "ReadTimeoutError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _gone(exc: BaseException) -> bool:
    return getattr(exc, "status", None) == 410


def _tls_failure(exc: BaseException) -> bool:
    """ssl's errors, and urllib3's SSLError wrapping one (matched by name, as above)."""
    return isinstance(exc, ssl.SSLError) or type(exc).__name__ == "SSLError"


# --- the bind's POST: kept-alive HTTP/1.1 connections of its own ----------------------------------
# kube-scheduler's binds in enforce mode come one per pod, each a small POST whose answer is a
# ~200-byte Status. Through urllib3 (pool lookup, Retry and Timeout objects, http.client's
# putheader/endheaders and two TLS writes, its response parsed by ``email.parser``) the Python
# around the request cost more than the request. Here h11 (uvicorn's own HTTP/1.1 library) frames
# the request, written as one buffer, and reads the answer: 351 us of CPU per bind against 591
# through the pool (``python -m benchmarks.verbs bind-client``, same run). An answer parsed by
# hand measured 172 us, but that is ~0.2 of the ~17 CPU-ms a pod costs the whole control plane in
# enforce mode (docs/benchmarks.md): not worth an HTTP parser of our own. The TLS setup stays
# urllib3's: each connection is made by the ApiClient's own pool (``_new_conn``), so CA, client
# certificates, hostname checks and socket options are exactly the pool's.

ANSWER_LIMIT = 1 << 20
"""Bytes of a bind's answer read at most (a Status is a few hundred)."""


class ConnectionClosedError(ConnectionError):
    """The connection ended before any byte of the answer (on a kept-alive one: the server had
    closed it, so the request is sent once more on a new one)."""


def _receive(sock: Any, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no answer in time")
    sock.settimeout(remaining)
    data: bytes = sock.recv(65536)
    return data


def post_on(
    sock: Any, target: str, host: str, headers: Mapping[str, str], body: bytes, deadline: float
) -> tuple[int, str, bytes, bool]:
    """POST ``body`` on ``sock`` and read the answer: (status, reason, body, whether the
    connection may be used again). ValueError for an answer that is not valid HTTP/1.1 or
    longer than ``ANSWER_LIMIT``, ConnectionError for one cut short."""
    import h11

    http = h11.Connection(h11.CLIENT, max_incomplete_event_size=ANSWER_LIMIT)
    fields = [("Host", host), *headers.items(), ("Content-Length", str(len(body)))]
    try:
        request = http.send(h11.Request(method="POST", target=target, headers=fields))
    except h11.LocalProtocolError as exc:  # a header that would break the request's lines
        raise ValueError(f"cannot send the request: {exc}") from exc
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    sock.sendall(request + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage()))
    return _read_answer(http, sock, deadline)


def _read_answer(http: Any, sock: Any, deadline: float) -> tuple[int, str, bytes, bool]:
    import h11

    status, reason, parts, size = 0, "", [], 0
    heard = closed = False
    while True:
        try:
            event = http.next_event()
        except h11.RemoteProtocolError as exc:
            if closed:
                raise ConnectionError(
                    "the API server closed the connection in the middle of its answer"
                ) from exc
            raise ValueError(f"not a valid HTTP answer: {exc}") from exc
        if event is h11.NEED_DATA:
            data = _receive(sock, deadline)
            if not data and not heard:
                raise ConnectionClosedError("the API server closed the connection before answering")
            heard, closed = True, not data
            http.receive_data(data)
        elif isinstance(event, h11.Response):
            status, reason = event.status_code, event.reason.decode("latin-1")
            length = dict(event.headers).get(b"content-length", b"0")
            if int(length) > ANSWER_LIMIT:
                raise ValueError(f"the API server's answer is longer than {ANSWER_LIMIT} bytes")
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > ANSWER_LIMIT:
                raise ValueError(f"the API server's answer is longer than {ANSWER_LIMIT} bytes")
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            reusable = http.their_state is h11.DONE and http.our_state is h11.DONE
            return status, reason, b"".join(parts), reusable and not http.trailing_data[0]
        elif isinstance(event, h11.ConnectionClosed):
            raise ConnectionError(
                "the API server closed the connection in the middle of its answer"
            )
        # InformationalResponse (a 1xx, never asked for): the real answer follows


_DROPPED = (
    ConnectionClosedError,
    BrokenPipeError,
    ConnectionResetError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
"""How a kept connection the server closed meets the next request (plain or TLS)."""


class _KeptConnections:
    """Kept-alive connections to the API server, each used by one POST at a time and then put
    back, the last put back taken first: a steady trickle of binds uses one connection, a burst
    opens as many as it has POSTs at once (each a TLS handshake: not one per bind thread). Made
    by the ApiClient's pool, reused while the server keeps them open."""

    def __init__(self, new_connection: Callable[[], Any], prefix: str, host: str) -> None:
        self._new_connection = new_connection
        self._prefix = prefix
        self._host = host
        self._lock = threading.Lock()
        self._idle: list[tuple[int, Any]] = []
        """(generation, connection) not in use, the next to use last."""
        self._generation = 0
        """Bumped by ``close``: a connection of an older one is closed when put back."""

    @classmethod
    def of(cls, api: Any) -> _KeptConnections | None:
        """For the ApiClient's pool; None when it goes through a proxy (left to the pool)."""
        import urllib3

        manager = getattr(getattr(api, "rest_client", None), "pool_manager", None)
        if type(manager) is not urllib3.PoolManager:
            return None
        url = urlsplit(api.configuration.host)
        if url.scheme not in ("http", "https") or not url.hostname:
            return None
        pool = manager.connection_from_url(api.configuration.host)
        host = url.netloc.rpartition("@")[2]
        return cls(pool._new_conn, url.path.rstrip("/"), host)

    def post(
        self, path: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> tuple[int, str, bytes]:
        """(status, reason, body) of a POST to ``path``, all within ``timeout`` seconds."""
        target = self._prefix + path
        deadline = time.monotonic() + timeout
        with self._lock:
            generation, connection = self._idle.pop() if self._idle else (self._generation, None)
        if connection is None:
            connection = self._new_connection()
        # A kept connection the server closed (or sent something unasked on) reads as readable.
        kept = connection.is_connected
        try:
            try:
                if not kept:
                    self._connect(connection, deadline)
                status, reason, data, reusable = post_on(
                    connection.sock, target, self._host, headers, body, deadline
                )
            except _DROPPED:
                if not kept:
                    raise
                # Closed by the server between our check and its reading the request: the
                # request was not acted on (or, if it was, the Binding's 409 says so: the
                # caller takes "already assigned to this node" as done).
                self._connect(connection, deadline)
                status, reason, data, reusable = post_on(
                    connection.sock, target, self._host, headers, body, deadline
                )
        except BaseException:
            connection.close()
            raise
        with self._lock:
            if reusable and generation == self._generation and len(self._idle) < POOL_SIZE:
                self._idle.append((generation, connection))
                return status, reason, data
        connection.close()
        return status, reason, data

    @staticmethod
    def _connect(connection: Any, deadline: float) -> None:
        connection.close()
        connection.timeout = max(deadline - time.monotonic(), 0.001)
        connection.connect()

    def close(self) -> None:
        """Close the idle connections, and those in use when they are put back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for _, connection in idle:
            connection.close()


# --- the service's own objects: PackingPlans and the leader-election Lease ----------------------
# All in ``KubeClient.namespace``, through CustomObjectsApi with dict bodies and raw JSON answers.
# The Lease goes through it too, not through CoordinationV1Api: that API turns a dict body into its
# V1Lease model and serializes MicroTime fields with ``isoformat()`` ("12:00:00+00:00" when the
# microsecond is 0), not in the API server's MicroTime layout (six fractional digits and a zone:
# execution-notes.md §7); here the times are sent as ``planning/leader.py`` formats them.

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
WRITE_TIMEOUT = 10
"""Seconds a write to the service's own objects may take."""


def own_namespace(path: Path = SERVICE_ACCOUNT_NAMESPACE) -> str:
    """The namespace of the pod this runs in (its service account's), else ``default``."""
    try:
        return path.read_text().strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE


def _status(exc: BaseException | None) -> object:
    return getattr(exc, "status", None)


def _written(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Mapping[str, Any]:
    """One write, the object the API server answered with (raw JSON); ``WriteConflict`` on 409,
    ``ClusterWriteError`` on any other failure."""
    try:
        response = call(*args, _preload_content=False, **kwargs)
        decoded = orjson.loads(response.data)
    except Exception as exc:
        error = WriteConflict if _status(exc) == 409 else ClusterWriteError
        raise error(f"{what}: {_describe(exc)}") from exc
    if not isinstance(decoded, Mapping):
        raise ClusterWriteError(f"{what}: the API server sent no object")
    return decoded


class _OwnObjects:
    """The calls on the service's own objects (mixed into ``KubeClient``)."""

    namespace: str
    _custom: Any

    def _plans(self) -> tuple[str, str, str, str]:
        return PLAN_GROUP, PLAN_VERSION, self.namespace, Kind.PACKING_PLAN.plural

    def _leases(self) -> tuple[str, str, str, str]:
        return "coordination.k8s.io", "v1", self.namespace, "leases"

    def plans_served(self) -> bool:
        """Whether the API server serves PackingPlans here (the CRD is installed): one list of at
        most one object. False on 404; ClusterReadError when it cannot tell."""
        try:
            self._custom.list_namespaced_custom_object(
                *self._plans(), limit=1, _request_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except Exception as exc:
            if _status(exc) == 404:
                return False
            raise ClusterReadError(f"listing packingplans: {_describe(exc)}") from exc
        return True

    def create_plan(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """Create a PackingPlan (the API server drops ``status``: see ``patch_plan_status``)."""
        what = f"creating packingplan {body['metadata']['name']}"
        create = self._custom.create_namespaced_custom_object
        return _written(what, create, *self._plans(), dict(body), _request_timeout=WRITE_TIMEOUT)

    def patch_plan_status(self, name: str, status: Mapping[str, Any]) -> Mapping[str, Any]:
        """Merge ``status`` into the plan's status subresource; the plan as it is now."""
        return _written(
            f"updating the status of packingplan {name}",
            self._custom.patch_namespaced_custom_object_status,
            *self._plans(),
            name,
            {"status": dict(status)},
            _content_type="application/merge-patch+json",
            _request_timeout=WRITE_TIMEOUT,
        )

    def delete_plan(self, name: str) -> None:
        """Delete a PackingPlan; one already gone is no error."""
        try:
            delete = self._custom.delete_namespaced_custom_object
            _written(f"deleting packingplan {name}", delete, *self._plans(), name,
                     _request_timeout=WRITE_TIMEOUT)  # fmt: skip
        except ClusterWriteError as exc:
            if _status(exc.__cause__) != 404:
                raise

    def read_lease(self, name: str, timeout: float) -> Mapping[str, Any] | None:
        """The Lease ``name`` as raw JSON, None if there is none."""
        try:
            get = self._custom.get_namespaced_custom_object
            return _written(f"reading lease {name}", get, *self._leases(), name,
                            _request_timeout=timeout)  # fmt: skip
        except ClusterWriteError as exc:
            if _status(exc.__cause__) == 404:
                return None
            raise ClusterReadError(str(exc)) from exc

    def create_lease(self, body: Mapping[str, Any], timeout: float) -> Mapping[str, Any]:
        """Create a Lease (WriteConflict if someone else just did)."""
        what = f"creating lease {body['metadata']['name']}"
        create = self._custom.create_namespaced_custom_object
        return _written(what, create, *self._leases(), dict(body), _request_timeout=timeout)

    def replace_lease(self, body: Mapping[str, Any], timeout: float) -> Mapping[str, Any]:
        """PUT the Lease; its ``metadata.resourceVersion`` makes a concurrent change a
        WriteConflict (the compare-and-swap leader election rests on)."""
        name = body["metadata"]["name"]
        replace = self._custom.replace_namespaced_custom_object
        return _written(
            f"updating lease {name}", replace, *self._leases(), name, dict(body),
            _request_timeout=timeout,
        )  # fmt: skip


class KubeClient(_OwnObjects):
    """Lists, watches and binds for the service, on one ApiClient (kubeconfig or in-cluster)."""

    def __init__(
        self,
        api: Any,
        *,
        watch_read_timeout: float | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        kept_connections: bool = True,
    ) -> None:
        """``kept_connections`` False: binds go through the ApiClient's urllib3 pool, as they
        do with a proxy configured (to compare the two)."""
        from kubernetes import client

        self.api = api
        self._core: Any = client.CoreV1Api(api)  # raw dict bodies and responses, not models
        self._custom: Any = client.CustomObjectsApi(api)
        self._lists = _list_calls(api)
        self.namespace = namespace
        """The service's own namespace: where its PackingPlans and its Lease live."""
        self._lists[Kind.PACKING_PLAN] = partial(
            self._custom.list_namespaced_custom_object,
            PLAN_GROUP,
            PLAN_VERSION,
            namespace,
            Kind.PACKING_PLAN.plural,
        )
        self._kept = _KeptConnections.of(api) if kept_connections else None
        self.watch_read_timeout = watch_read_timeout
        """Longest silence on an open watch before it is given up as dead (None: the server's
        watch timeout plus 30 s). A healthy watch hears a bookmark about once a minute."""

    @classmethod
    def connect(
        cls,
        kubeconfig: str | None,
        *,
        watch_read_timeout: float | None = None,
        namespace: str | None = None,
        kept_connections: bool = True,
    ) -> KubeClient:
        """``namespace`` unset: the pod's own namespace in a cluster, else ``default``."""
        return cls(
            _api_client(kubeconfig, pool_size=POOL_SIZE),
            watch_read_timeout=watch_read_timeout,
            namespace=namespace or own_namespace(),
            kept_connections=kept_connections,
        )

    def close(self) -> None:
        if self._kept is not None:
            self._kept.close()
        close = getattr(self.api, "close", None)
        if close is not None:
            close()

    def list_objects(self, kind: str) -> tuple[list[Mapping[str, Any]], str]:
        """Every object of ``kind`` (raw JSON, no ``kind`` field) and the list's resourceVersion."""
        items: list[Mapping[str, Any]] = []
        version = ""
        for page in _pages(kind, self._lists[Kind(kind)]):
            page_items = page.get("items") or []
            if not isinstance(page_items, list):
                raise ClusterReadError(f"listing {kind}: items is not a list")
            items.extend(page_items)
            metadata = page.get("metadata")
            if isinstance(metadata, Mapping):
                version = str(metadata.get("resourceVersion") or version)
        return items, version

    def watch(self, kind: str, resource_version: str, timeout: int) -> Iterator[WatchEvent]:
        """Events after ``resource_version`` until the server ends the watch (``timeout`` s).

        Raises WatchExpired on 410 Gone, ClusterReadError on any other failure.
        """
        try:
            response = self._lists[Kind(kind)](
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout,
                _preload_content=False,
                _request_timeout=(CONNECT_TIMEOUT_SECONDS, self.watch_read_timeout or timeout + 30),
            )
        except Exception as exc:
            if _gone(exc):
                raise WatchExpired(f"watching {kind}: {_describe(exc)}") from exc
            raise ClusterReadError(f"watching {kind}: {_describe(exc)}") from exc
        yield OPENED, {}
        try:
            for line in response:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                kind_of_event = event.get("type") if isinstance(event, Mapping) else None
                obj = event.get("object") if isinstance(event, Mapping) else None
                if not isinstance(kind_of_event, str) or not isinstance(obj, Mapping):
                    raise ClusterReadError(f"watching {kind}: malformed event {line[:200]!r}")
                if kind_of_event == "ERROR":
                    message = _one_line(obj.get("message") or obj)
                    if obj.get("code") == 410:
                        raise WatchExpired(f"watching {kind}: {message}")
                    raise ClusterReadError(f"watching {kind}: {message}")
                yield kind_of_event, obj
        except (ClusterReadError, WatchExpired):
            raise
        except Exception as exc:
            if _read_timeout(exc):
                # Silence past ``watch_read_timeout`` on an open watch: it may be dead; end it
                # like a server-side timeout, and the informer reopens it from where it was.
                logger.debug(
                    "watching %s: no word for %ss; reopening", kind, self.watch_read_timeout
                )
                return
            raise ClusterReadError(f"watching {kind}: {_describe(exc)}") from exc
        finally:
            response.close()
            release = getattr(response, "release_conn", None)
            if release is not None:
                release()

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        """POST the pod's Binding (with a UID precondition when ``uid`` is given).

        The request is the one ``create_namespaced_binding`` sends (URL, JSON body, the
        ApiClient's default headers, its credentials through ``update_params_for_auth``, which
        refreshes an expiring token as the generated call does), without the generated call's
        machinery. It goes over a kept-alive connection of its own (``_KeptConnections``: TLS
        and client certificates as the ApiClient's pool sets them up), written as one buffer and
        its answer read with h11 (see ``post_on``: 351 us of CPU per bind against 591 through
        urllib3 and http.client); with a proxy configured it goes through the pool. The answer
        is not decoded (the client's model for it fails to deserialize,
        kubernetes-client/python#547); a non-2xx answer is a BindError with the status and the
        API server's message.
        """
        metadata: dict[str, str] = {"name": name, "namespace": namespace}
        if uid:
            metadata["uid"] = uid
        body = orjson.dumps(
            {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": metadata,
                "target": {"apiVersion": "v1", "kind": "Node", "name": node},
            }
        )
        api = self.api
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/bindings"
        # A fresh dict per call: the auth header is added to it.
        headers = {
            **api.default_headers,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        try:
            api.update_params_for_auth(headers, [], ["BearerToken"], path, "POST", None)
            if self._kept is None:
                status, reason, data = self._post_pooled(path, headers, body)
            else:
                status, reason, data = self._kept.post(path, headers, body, BIND_TIMEOUT_SECONDS)
        except Exception as exc:
            if _tls_failure(exc):  # as the generated call reports it
                line = _describe_status(0, f"{type(exc).__name__} {exc}", None)
            else:
                line = _describe(exc)
            raise BindError(f"binding {namespace}/{name} to {node}: {line}") from exc
        if not 200 <= status <= 299:
            line = _describe_status(status, reason, data)
            raise BindError(f"binding {namespace}/{name} to {node}: {line}")

    def _post_pooled(
        self, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        """POST on the ApiClient's urllib3 pool: (status, reason, body). Used when a proxy is
        configured (``_KeptConnections`` speaks to the API server directly)."""
        import urllib3

        api = self.api
        response = api.rest_client.pool_manager.request(
            "POST",
            api.configuration.host + path,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=BIND_TIMEOUT_SECONDS),
            preload_content=False,
        )
        data = response.read()  # drained, so that the connection goes back to the pool
        response.release_conn()
        return int(response.status), str(response.reason or ""), bytes(data)

    # --- plan execution (enforce mode): evictions, pod annotations, Events ----------------------
    # Planned pods are bound with ``bind`` above, as the bind verb binds.

    def evict(self, namespace: str, name: str, uid: str) -> EvictionOutcome:
        """POST the pod's policy/v1 Eviction with a UID precondition, never a DELETE; the answer
        read as ``cluster/eviction.py`` says (a 2xx may carry a Failure: the body is read)."""
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
            "deleteOptions": {"preconditions": {"uid": uid}},
        }
        try:
            response = self._core.create_namespaced_pod_eviction(
                name,
                namespace,
                body,
                _content_type="application/json",
                _preload_content=False,
                _request_timeout=WRITE_TIMEOUT_SECONDS,
            )
            data = response.read()
            response.release_conn()
            return classify(int(response.status), data)
        except Exception as exc:
            status = getattr(exc, "status", None)
            if isinstance(status, int) and status:
                return classify(status, getattr(exc, "body", None))
            return EvictionOutcome(EvictionResult.REFUSED, _describe(exc))

    def annotate_pod(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        """Merge ``annotations`` into the pod's (None removes one); ExecutionError on failure."""
        body = {"metadata": {"annotations": dict(annotations)}}
        try:
            response = self._core.patch_namespaced_pod(
                name,
                namespace,
                body,
                _content_type="application/merge-patch+json",
                _preload_content=False,
                _request_timeout=WRITE_TIMEOUT_SECONDS,
            )
            response.read()
            response.release_conn()
        except Exception as exc:
            raise ExecutionError(f"annotating pod {namespace}/{name}: {_describe(exc)}") from exc

    def create_event(self, namespace: str, body: Mapping[str, Any]) -> None:
        """Create an events.k8s.io/v1 Event from a raw body; ExecutionError on failure.

        The generated ``create_namespaced_event`` validates a dict body into its model first,
        which parses ``eventTime`` into a datetime and writes it back with ``isoformat()``: no
        fraction at microsecond 0, which the API server rejects (400, MicroTime needs six
        digits). So the request is built by the client's own serializer, with the body as given,
        and sent through ``call_api``; the answer is checked here.
        """
        from kubernetes import client

        events: Any = client.EventsV1Api(self.api)
        try:
            request = events._create_namespaced_event_serialize(
                namespace=namespace,
                body=dict(body),
                pretty=None,
                dry_run=None,
                field_manager=None,
                field_validation=None,
                _request_auth=None,
                _content_type="application/json",
                _headers=None,
                _host_index=0,
            )
            response = self.api.call_api(*request, _request_timeout=WRITE_TIMEOUT_SECONDS)
            data = response.read()
            status = int(response.status)
        except Exception as exc:
            raise ExecutionError(f"recording an Event in {namespace}: {_describe(exc)}") from exc
        if not 200 <= status < 300:
            line = _describe_status(status, getattr(response, "reason", ""), data)
            raise ExecutionError(f"recording an Event in {namespace}: {line}")
