"""The service surface under attack and under faults, on a real control plane.

- Forged binds (a pod of another scheduler, an empty UID, a node that does not exist, a name with a
  newline) are refused with one line, and nothing is bound.
- A body that lies about a watched pod's requests does not change that pod's filter answer.
- Silent sockets are closed within the header timeout.
- kube-scheduler with its client certificate schedules through the service over mutual TLS; a
  client certificate of another CA is refused.
- ``/readyz`` goes 503 while the API server is stalled (SIGSTOP) for longer than the staleness,
  and back to 200 once it answers again; verbs keep answering meanwhile.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit import builders, certs
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube
from testkit.service import ServiceProcess, extender_config
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STALENESS = 4.0
HEADER_TIMEOUT = 1.0
NAMESPACE = "hardening"


@pytest.fixture(scope="module")
def served(
    cluster_factory: ClusterFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KwokCluster, ServiceProcess, Kube]]:
    port = free_port()
    cluster = cluster_factory(extender_config(port, ignorable=True), prefix="hard")
    env = {
        "SCHEDULER_EXT_CLUSTER__STALENESS_SECONDS": str(STALENESS),
        "SCHEDULER_EXT_SERVER__HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "SCHEDULER_EXT_PLANNING__ENABLED": "false",
    }
    log = tmp_path_factory.mktemp("hard") / "service.log"
    service = ServiceProcess(cluster.kubeconfig, port, log, env=env).start()
    try:
        service.wait_ready()
        with Kube(cluster.api_client()) as kube:
            kube.create(builders.namespace(NAMESPACE))
            kube.create(builders.node("hard-n1", cpu="2"))
            yield cluster, service, kube
    finally:
        service.stop()
        cluster_factory.delete(cluster)


def _pending(kube: Kube, name: str, scheduler: str, cpu: str = "500m") -> Any:
    """A pod that stays Pending: of a scheduler the cluster does not run, or too large."""
    manifest = builders.pod(
        name, namespace=NAMESPACE, requests={"cpu": cpu}, scheduler_name=scheduler
    )
    return kube.create(manifest)


def _bind(service: ServiceProcess, name: str, uid: str, node: str) -> str:
    status, answer = service.post(
        "/scheduler/bind",
        {"PodName": name, "PodNamespace": NAMESPACE, "PodUID": uid, "Node": node},
    )
    assert status == 200
    error: str = answer["Error"]
    return error


def test_forged_binds_are_refused_and_nothing_is_bound(
    served: tuple[KwokCluster, ServiceProcess, Kube],
) -> None:
    _, service, kube = served
    other = _pending(kube, "other", "not-served")
    mine = _pending(kube, "mine", "default-scheduler", cpu="100")  # served, fits no node
    refusals = [
        _bind(service, "other", other.metadata.uid, "hard-n1"),  # another scheduler's pod
        _bind(service, "mine", "", "hard-n1"),  # empty UID
        _bind(service, "mine", mine.metadata.uid, "no-such-node"),  # unknown node
        _bind(service, "mine\nINFO forged", mine.metadata.uid, "hard-n1"),  # a forged log line
    ]
    assert all(error.startswith("scheduler-ext: ") for error in refusals), refusals
    assert all("\n" not in error for error in refusals)
    for name in ("other", "mine"):
        assert kube.core.read_namespaced_pod(name, NAMESPACE).spec.node_name is None
    assert service.metric("scheduler_ext_binds_total", result="refused") == len(refusals)
    assert not any(line.startswith("INFO forged") for line in service.log().splitlines())


def test_a_forged_body_does_not_change_the_genuine_pods_answer(
    served: tuple[KwokCluster, ServiceProcess, Kube],
) -> None:
    _, service, kube = served
    genuine = _pending(kube, "genuine", "not-served")
    raw = kube.api.sanitize_for_serialization(genuine)
    raw["apiVersion"], raw["kind"] = "v1", "Pod"
    forged = {**raw, "spec": {**raw["spec"], "containers": [dict(raw["spec"]["containers"][0])]}}
    forged["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1000"}}
    # Until its watch has the pod the service judges the body (the genuine one fits, the forged
    # one does not); once it has, the watched pod's 500m, never the body's 1000. A service that
    # believed the body would never let the forged one pass.
    wait_for(
        lambda: service.post("/scheduler/filter", {"Pod": forged, "NodeNames": ["hard-n1"]})[1],
        lambda answer: answer["NodeNames"] == ["hard-n1"],
        description="the forged body answered as the watched pod",
        timeout=60,
    )
    _, answer = service.post("/scheduler/filter", {"Pod": raw, "NodeNames": ["hard-n1"]})
    assert answer["NodeNames"] == ["hard-n1"]


def test_silent_sockets_are_closed_within_the_header_timeout(
    served: tuple[KwokCluster, ServiceProcess, Kube],
) -> None:
    _, service, _ = served
    sockets = [socket.create_connection(("127.0.0.1", service.port)) for _ in range(200)]
    try:
        started = time.monotonic()
        for sock in sockets:
            sock.settimeout(HEADER_TIMEOUT * 10)
            assert sock.recv(1) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT * 10
    finally:
        for sock in sockets:
            sock.close()
    assert service.get("/healthz")[0] == 200


def test_readiness_falls_back_during_an_apiserver_stall_and_returns(
    served: tuple[KwokCluster, ServiceProcess, Kube], tmp_path: Path
) -> None:
    cluster, service, _ = served
    apiserver = cluster.pids()["kube-apiserver"]
    # Ready first (with a staleness of 4 s a loaded machine can leave a watch unheard for a
    # moment, and the earlier tests of this module loaded the service).
    service.wait_ready()
    os.kill(apiserver, signal.SIGSTOP)
    try:
        wait_for(
            lambda: service.get("/readyz")[0],
            lambda status: status == 503,
            description="not ready while the API server is stalled",
            timeout=60,
        )
        stranger = {"metadata": {"name": "x", "namespace": NAMESPACE, "uid": "u"}}
        status, _ = service.post("/scheduler/prioritize", {"Pod": stranger, "NodeNames": []})
        assert status == 200  # the verbs keep answering (ignorable), from memory
    finally:
        os.kill(apiserver, signal.SIGCONT)
    wait_for(
        lambda: service.get("/readyz")[0],
        lambda status: status == 200,
        description="ready again once the API server answers",
        timeout=60,
    )


def test_kube_scheduler_schedules_through_mutual_tls(
    cluster_factory: ClusterFactory, tmp_path: Path
) -> None:
    """kube-scheduler presents its client certificate (``tlsConfig``) and binds through the
    service; a client with a certificate of another CA is refused at the handshake."""
    ca = certs.ca_pair(tmp_path, "ca")
    server = certs.signed_pair(tmp_path, "server", ca, server=True)
    scheduler = certs.signed_pair(tmp_path, "kube-scheduler", ca)
    stranger = certs.signed_pair(tmp_path, "stranger", certs.ca_pair(tmp_path, "other"))
    port = free_port()
    config = extender_config(port)
    [entry] = config["extenders"]
    entry.update(
        urlPrefix=f"https://127.0.0.1:{port}/scheduler",
        enableHTTPS=True,
        tlsConfig={
            "certFile": str(scheduler[0]),
            "keyFile": str(scheduler[1]),
            "caFile": str(ca[0]),
        },
    )
    cluster = cluster_factory(config, prefix="mtls")
    env = {
        "SCHEDULER_EXT_SERVER__TLS_CERT_FILE": str(server[0]),
        "SCHEDULER_EXT_SERVER__TLS_KEY_FILE": str(server[1]),
        "SCHEDULER_EXT_SERVER__TLS_CLIENT_CA_FILE": str(ca[0]),
        "SCHEDULER_EXT_PLANNING__ENABLED": "false",
    }
    service = ServiceProcess(cluster.kubeconfig, port, tmp_path / "service.log", env=env).start()

    def https(cert: tuple[Path, Path]) -> int:
        context = ssl.create_default_context(cafile=str(ca[0]))
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        url = f"https://127.0.0.1:{port}/readyz"
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return int(response.status)

    try:
        wait_for(
            lambda: https(scheduler),
            lambda status: status == 200,
            description="the service ready over mutual TLS",
            timeout=120,  # a loaded 2-core machine starts Python slowly
            retry=lambda exc: isinstance(exc, OSError),
        )
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            https(stranger)
        with Kube(cluster.api_client()) as kube:
            kube.create(builders.namespace("mtls"))
            kube.create(builders.node("mtls-n1", cpu="4"))
            kube.create(builders.pod("through", namespace="mtls", requests={"cpu": "500m"}))
            wait_for(
                lambda: kube.core.read_namespaced_pod("through", "mtls").spec.node_name,
                lambda node: node == "mtls-n1",
                description="the pod bound",
                timeout=60,
            )
        # By the service's bind verb: it logs once the API server's answer is back, which may
        # be after the test read the pod bound.
        wait_for(
            service.log,
            lambda log: "bound mtls/through to mtls-n1" in log,
            description="the service's bind verb logging the bind",
            describe=lambda log: log[-2000:],
        )
    finally:
        service.stop()
        cluster_factory.delete(cluster)
