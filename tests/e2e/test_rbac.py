"""The service with exactly the RBAC of deploy/rbac.yaml does its job and is refused the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from testkit import builders
from testkit.cluster import free_port
from testkit.kube import Kube
from testkit.service import REPO, ServiceProcess, extender_config
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RBAC = REPO / "deploy" / "rbac.yaml"
SCHEDULER = "rbac-probe"  # a scheduler name the cluster does not run: the pod stays Pending


def _token_kubeconfig(admin: Path, token: str, out: Path) -> Path:
    config: dict[str, Any] = yaml.safe_load(admin.read_text())
    config["users"] = [{"name": "scheduler-ext", "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = "scheduler-ext"
    out.write_text(yaml.safe_dump(config))
    return out


def _status_of(call: Any) -> int:
    try:
        call()
    except k8s.ApiException as exc:
        return int(exc.status)
    return 200


def test_the_shipped_role_is_enough_and_no_more(
    cluster_factory: ClusterFactory, tmp_path: Path
) -> None:
    port = free_port()
    cluster = cluster_factory(extender_config(port, ignorable=True), prefix="rbac")
    try:
        cluster.kubectl("apply", "-f", str(RBAC))
        with Kube(cluster.api_client()) as admin:
            token = admin.core.create_namespaced_service_account_token(
                "scheduler-ext", "kube-system", {"spec": {"expirationSeconds": 3600}}
            ).status.token
            admin.create(builders.namespace("rbac"))
            admin.create(builders.node("rbac-n1", cpu="4"))
            admin.create(
                builders.pod(
                    "probe", namespace="rbac", requests={"cpu": "100m"}, scheduler_name=SCHEDULER
                )
            )
            uid = admin.core.read_namespaced_pod("probe", "rbac").metadata.uid
        kubeconfig = _token_kubeconfig(cluster.kubeconfig, token, tmp_path / "sa.kubeconfig")
        env = {"SCHEDULER_EXT_PLANNING__SCHEDULER_NAMES": f'["{SCHEDULER}"]'}
        service = ServiceProcess(kubeconfig, port, tmp_path / "service.log", env=env).start()
        try:
            service.wait_ready()  # every list and watch is allowed
            _, answer = service.post(
                "/scheduler/bind",
                {"PodName": "probe", "PodNamespace": "rbac", "PodUID": uid, "Node": "rbac-n1"},
            )
            assert answer == {"Error": ""}, answer
        finally:
            service.stop()
        with Kube(cluster.api_client()) as admin:
            wait_for(
                lambda: admin.core.read_namespaced_pod("probe", "rbac").spec.node_name,
                lambda node: node == "rbac-n1",
                description="the pod bound with the service account's token",
            )
        loader: Any = k8s_config  # untyped in some client versions
        api = loader.new_client_from_config(config_file=str(kubeconfig))
        core: Any = k8s.CoreV1Api(api)
        eviction = {"metadata": {"name": "probe", "namespace": "rbac"}}
        refused = {
            "read Secrets": lambda: core.list_namespaced_secret("kube-system"),
            "delete a Node": lambda: core.delete_node("rbac-n1"),
            "evict a pod": lambda: core.create_namespaced_pod_eviction("probe", "rbac", eviction),
            "patch a pod": lambda: core.patch_namespaced_pod("probe", "rbac", {"metadata": {}}),
        }
        assert {what: _status_of(call) for what, call in refused.items()} == dict.fromkeys(
            refused, 403
        )
        api.close()
    finally:
        cluster_factory.delete(cluster)
