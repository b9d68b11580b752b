"""The chart installed with the real helm into the harness's kube-apiserver, then run with its own
identities: every object is accepted by server-side validation; the service, with the chart's
extender ServiceAccount token, syncs, answers kube-scheduler and is refused what it does not need;
kube-scheduler, with the chart's scheduler ServiceAccount token and the chart's configuration,
takes its Lease and places a pod that opted in through the service, over the chart's
certificates; an upgrade to enforce mode is accepted and keeps the certificates.

Both run as processes on this machine (the Deployments' pods are not run by kwok): what is
checked is what the chart grants and renders, not the pod runtime (tests/e2e/test_image.py).
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from testkit import builders
from testkit.cluster import KwokCluster, free_ports
from testkit.kube import Kube
from testkit.processes import start_kube_scheduler, terminate
from testkit.service import ServiceProcess
from testkit.wait import wait_for
from tests.deploy.chart import CHART, NAMESPACE, RELEASE, helm
from tests.e2e.conftest import ClusterFactory
from tests.e2e.test_rbac import _status_of, _token_kubeconfig

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAME = "se-scheduler-ext"
SCHEDULER = f"{NAME}-scheduler"
WORKLOADS = "chart-workloads"


def _install(cluster: KwokCluster, *values: str, upgrade: bool = False) -> None:
    verb = ["upgrade"] if upgrade else ["install", "--create-namespace"]
    sets = [arg for value in values for arg in ("--set", value)]
    helm(*verb, RELEASE, str(CHART), "--namespace", NAMESPACE,
         "--kubeconfig", str(cluster.kubeconfig), *sets)  # fmt: skip


def _json(cluster: KwokCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl(*args, "--output", "json"))


def _secret_files(cluster: KwokCluster, name: str, directory: Path) -> Path:
    secret = _json(cluster, "--namespace", NAMESPACE, "get", "secret", name)
    directory.mkdir()
    for key, value in secret["data"].items():
        (directory / key).write_bytes(base64.b64decode(value))
    return directory


def _token(cluster: KwokCluster, account: str) -> str:
    return cluster.kubectl("--namespace", NAMESPACE, "create", "token", account).strip()


def _config_map(cluster: KwokCluster, name: str, key: str) -> Any:
    return yaml.safe_load(_json(cluster, "--namespace", NAMESPACE, "get", "cm", name)["data"][key])


@pytest.fixture
def installed(cluster_factory: ClusterFactory) -> Iterator[KwokCluster]:
    cluster = cluster_factory(builders.scheduler_config(), prefix="chart")
    try:
        _install(cluster, "metrics.grafanaDashboard.enabled=true")
        yield cluster
    finally:
        cluster_factory.delete(cluster)


def _kube_scheduler(
    cluster: KwokCluster, kubeconfig: Path, verbs_port: int, tls: Path, tmp: Path
) -> subprocess.Popen[bytes]:
    """The chart's KubeSchedulerConfiguration, as the pod would read it, run by the harness's
    kube-scheduler: only the extender's address, the certificate paths and the kubeconfig (the
    pod's is in-cluster) differ."""
    config = _config_map(cluster, SCHEDULER, "config.yaml")
    [extender] = config["extenders"]
    extender["urlPrefix"] = f"https://127.0.0.1:{verbs_port}/scheduler"
    for key, file in (("certFile", "tls.crt"), ("keyFile", "tls.key"), ("caFile", "ca.crt")):
        extender["tlsConfig"][key] = str(tls / file)
    config["clientConnection"] = {"kubeconfig": str(kubeconfig)}
    path = tmp / "kube-scheduler.yaml"
    path.write_text(yaml.safe_dump(config))
    [secure_port] = free_ports(1)
    log = tmp / "kube-scheduler.log"
    binary = cluster.bins.kube_scheduler
    return start_kube_scheduler(binary, path, log, port=secure_port, append=True)


def test_the_chart_installs_and_its_identities_do_their_job(
    installed: KwokCluster, tmp_path: Path
) -> None:
    cluster = installed
    kinds = {item["kind"] for item in _json(cluster, "--namespace", NAMESPACE, "get",
             "deploy,svc,sa,cm,secret,pdb,networkpolicy,role,rolebinding")["items"]}  # fmt: skip
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap", "Secret",
            "PodDisruptionBudget", "NetworkPolicy", "Role", "RoleBinding"} <= kinds  # fmt: skip

    extender_kubeconfig = _token_kubeconfig(
        cluster.kubeconfig, _token(cluster, NAME), tmp_path / "extender.kubeconfig"
    )
    scheduler_kubeconfig = _token_kubeconfig(
        cluster.kubeconfig, _token(cluster, SCHEDULER), tmp_path / "scheduler.kubeconfig"
    )
    server_tls = _secret_files(cluster, f"{NAME}-tls", tmp_path / "server-tls")
    client_tls = _secret_files(cluster, f"{SCHEDULER}-tls", tmp_path / "client-tls")
    settings = _config_map(cluster, NAME, "settings.yaml")
    verbs_port, admin_port = free_ports(2)
    env = {
        "SCHEDULER_EXT_SERVER__TLS_CERT_FILE": str(server_tls / "tls.crt"),
        "SCHEDULER_EXT_SERVER__TLS_KEY_FILE": str(server_tls / "tls.key"),
        "SCHEDULER_EXT_SERVER__TLS_CLIENT_CA_FILE": str(server_tls / "ca.crt"),
        "SCHEDULER_EXT_SERVER__ADMIN_PORT": str(admin_port),
        # In its pod the service finds its namespace in the ServiceAccount's files; here, outside,
        # it is told (its Role, for PackingPlans and the Lease, is the release namespace's).
        "SCHEDULER_EXT_CLUSTER__NAMESPACE": NAMESPACE,
        "SCHEDULER_EXT_PLANNING__SCHEDULER_NAMES": json.dumps(
            settings["planning"]["scheduler_names"]
        ),
    }
    service = ServiceProcess(extender_kubeconfig, verbs_port, tmp_path / "service.log", env=env)
    scheduler = None
    try:
        service.start()  # the verbs on verbs_port, with mutual TLS
        service.port = admin_port  # from now on get and metric read the plain HTTP admin port
        service.wait_ready()  # every list and watch the extender's role allows
        scheduler = _kube_scheduler(cluster, scheduler_kubeconfig, verbs_port, client_tls, tmp_path)
        with Kube(cluster.api_client()) as admin:
            admin.create(builders.namespace(WORKLOADS))
            # Both Ready before the pod: with one feasible node kube-scheduler skips scoring,
            # extenders' prioritize included (the test once saw no prioritize call).
            admin.create_nodes([builders.node(n, cpu="4") for n in ("chart-n1", "chart-n2")])
            [scheduler_name] = settings["planning"]["scheduler_names"]
            admin.create(builders.pod("opted-in", namespace=WORKLOADS, requests={"cpu": "1"},
                                      scheduler_name=scheduler_name))  # fmt: skip
            wait_for(
                lambda: admin.core.read_namespaced_pod("opted-in", WORKLOADS).spec.node_name,
                lambda node: node in {"chart-n1", "chart-n2"},
                description="the opted-in pod placed by the chart's kube-scheduler",
                timeout=90,
                describe=lambda _: (tmp_path / "kube-scheduler.log").read_text()[-3000:],
            )
            leases: Any = k8s.CoordinationV1Api(admin.api)
            assert leases.read_namespaced_lease(SCHEDULER, NAMESPACE).spec.holder_identity
        assert service.metric("scheduler_ext_verb_duration_seconds_count", verb="prioritize") >= 1
        _assert_refused(extender_kubeconfig)
    finally:
        terminate(scheduler)
        service.stop()

    before = {s: _json(cluster, "-n", NAMESPACE, "get", "secret", s)["data"]
              for s in (f"{NAME}-tls", f"{SCHEDULER}-tls")}  # fmt: skip
    _install(cluster, "mode=enforce", upgrade=True)
    after = {s: _json(cluster, "-n", NAMESPACE, "get", "secret", s)["data"] for s in before}
    assert after == before  # the certificates survive an upgrade (looked up, not made anew)
    rules = _json(cluster, "get", "clusterrole", NAME)["rules"]
    assert any("pods/eviction" in rule["resources"] for rule in rules)


def _assert_refused(kubeconfig: Path) -> None:
    loader: Any = k8s_config
    api = loader.new_client_from_config(config_file=str(kubeconfig))
    core: Any = k8s.CoreV1Api(api)
    refused = {
        "read Secrets": lambda: core.list_namespaced_secret(NAMESPACE),
        "delete a Node": lambda: core.delete_node("chart-n1"),
        "evict a pod": lambda: core.create_namespaced_pod_eviction(
            "opted-in", WORKLOADS, {"metadata": {"name": "opted-in", "namespace": WORKLOADS}}
        ),
        "patch a pod": lambda: core.patch_namespaced_pod("opted-in", WORKLOADS, {"metadata": {}}),
    }
    try:
        assert {what: _status_of(call) for what, call in refused.items()} == dict.fromkeys(
            refused, 403
        )
    finally:
        api.close()
