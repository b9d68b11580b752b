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
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster
from scheduler_ext.errors import ClusterReadError, SnapshotError

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
REQUEST_TIMEOUT_SECONDS = 60


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _api_client(kubeconfig: str | None) -> Any:
    """An ApiClient for the explicit kubeconfig, else $KUBECONFIG or ~/.kube/config, else the
    pod's service account (in-cluster)."""
    from kubernetes import client
    from kubernetes import config as typed_config

    # Typed in some client versions, untyped in others: use it as Any to stay mypy-clean on both.
    config: Any = typed_config

    if kubeconfig:
        try:
            return config.new_client_from_config(config_file=kubeconfig, persist_config=False)
        except Exception as exc:
            raise ClusterReadError(
                f"cannot load kubeconfig {kubeconfig}: {_one_line(exc)}"
            ) from exc
    try:
        return config.new_client_from_config(persist_config=False)
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
        return client.ApiClient(configuration)


def _describe(exc: BaseException) -> str:
    """One line for a failed request: HTTP status and the API server's message, or the cause."""
    status = getattr(exc, "status", None)
    if status is not None:
        reason = getattr(exc, "reason", "") or ""
        message = ""
        body = getattr(exc, "body", None)
        if body:
            try:
                decoded = json.loads(body)
                if isinstance(decoded, Mapping):
                    message = str(decoded.get("message") or "")
            except ValueError:
                message = ""
        text = f"{status} {reason}".strip()
        return _one_line(f"{text}: {message}" if message else text)
    return _one_line(f"{type(exc).__name__}: {exc}")


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
            page = json.loads(response.data)
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


def read_cluster(kubeconfig: str | None) -> Cluster:
    """Nodes, pods (all namespaces), policy/v1 PodDisruptionBudgets, PriorityClasses and
    Namespaces of the live cluster; ClusterReadError on any failure, with one line."""
    try:
        from kubernetes import client
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ClusterReadError(f"the kubernetes package is not installed: {exc}") from exc

    api = _api_client(kubeconfig)
    try:
        core = client.CoreV1Api(api)
        lists: list[tuple[str, Callable[..., Any]]] = [
            ("priorityclasses", client.SchedulingV1Api(api).list_priority_class),
            ("namespaces", core.list_namespace),
            ("nodes", core.list_node),
            (
                "poddisruptionbudgets",
                client.PolicyV1Api(api).list_pod_disruption_budget_for_all_namespaces,
            ),
            ("pods", core.list_pod_for_all_namespaces),
        ]
        objects: list[Mapping[str, Any]] = []
        for what, call in lists:
            objects.extend(_pages(what, call))
            logger.debug("listed %s", what)
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
