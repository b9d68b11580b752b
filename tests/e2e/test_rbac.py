"""The service with exactly the RBAC of deploy/rbac.yaml does its job and is refused the rest.

Its job here: list and watch what it reads, bind through the bind verb, take the Lease, and keep
its plans as PackingPlans in its namespace (create, status, delete by retention). The plans come
from pods of a scheduler the cluster does not run, marked Unschedulable by hand (as kube-scheduler
would), so that no kube-scheduler binds or plans around them.
"""

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
OWN = "kube-system"  # the service account's namespace: where its plans and Lease live
PLANS = ("scheduler-ext.io", "v1alpha1")


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


def _unschedulable(admin: Kube, name: str) -> None:
    """A pod no node holds, marked Unschedulable as kube-scheduler would mark it."""
    admin.create(
        builders.pod(name, namespace="rbac", requests={"cpu": "64"}, scheduler_name=SCHEDULER)
    )
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
    }
    admin.core.patch_namespaced_pod_status(name, "rbac", {"status": {"conditions": [condition]}})


def _plan_names(custom: Any) -> list[str]:
    listed = custom.list_namespaced_custom_object(*PLANS, OWN, "packingplans")
    return sorted(item["metadata"]["name"] for item in listed["items"])


def _plans_lifecycle(admin: Kube, service: ServiceProcess) -> str:
    """Two plans made one after the other (history 1): the first is deleted by retention; the
    second's status (written through the subresource) says Pending. The name of the second."""
    custom: Any = k8s.CustomObjectsApi(admin.api)
    _unschedulable(admin, "huge-1")
    [first] = wait_for(
        lambda: _plan_names(custom),
        bool,
        description="a first PackingPlan",
        timeout=120,  # the first round's solver child may still be importing on a loaded machine
    )
    _unschedulable(admin, "huge-2")
    [second] = wait_for(
        lambda: _plan_names(custom),
        lambda names: bool(names) and first not in names,
        description="the second PackingPlan, the first deleted",
        timeout=60,
    )
    stored = custom.get_namespaced_custom_object(*PLANS, OWN, "packingplans", second)
    assert stored["status"]["phase"] == "Pending"
    assert "rbac/huge-2" in str(stored["spec"]["unplanned"])
    assert "Forbidden" not in service.log()
    return str(second)


def test_the_shipped_role_is_enough_and_no_more(
    cluster_factory: ClusterFactory, tmp_path: Path
) -> None:
    port = free_port()
    cluster = cluster_factory(extender_config(port, ignorable=True), prefix="rbac")
    try:
        cluster.kubectl("apply", "-f", str(RBAC))
        cluster.install_crds()
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
        env = {
            "SCHEDULER_EXT_PLANNING__SCHEDULER_NAMES": f'["{SCHEDULER}"]',
            "SCHEDULER_EXT_PLANNING__HISTORY": "1",
            "SCHEDULER_EXT_CLUSTER__NAMESPACE": OWN,  # outside a pod it cannot be read
        }
        service = ServiceProcess(kubeconfig, port, tmp_path / "service.log", env=env).start()
        try:
            service.wait_ready()  # every list and watch is allowed
            wait_for(
                lambda: service.metric("scheduler_ext_leader"),
                lambda flag: flag == 1.0,
                description="the service holding the Lease",
            )
            with Kube(cluster.api_client()) as admin:
                plan = _plans_lifecycle(admin, service)
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
        custom: Any = k8s.CustomObjectsApi(api)
        eviction = {"metadata": {"name": "probe", "namespace": "rbac"}}
        lease = {"metadata": {"name": "scheduler-ext"}, "spec": {"holderIdentity": "x"}}
        plan_body = {
            "apiVersion": "/".join(PLANS),
            "kind": "PackingPlan",
            "metadata": {"name": "p"},
        }
        leases = ("coordination.k8s.io", "v1")
        refused = {
            "read Secrets": lambda: core.list_namespaced_secret("kube-system"),
            "delete a Node": lambda: core.delete_node("rbac-n1"),
            "evict a pod": lambda: core.create_namespaced_pod_eviction("probe", "rbac", eviction),
            "patch a pod": lambda: core.patch_namespaced_pod("probe", "rbac", {"metadata": {}}),
            "update a plan's spec": lambda: custom.patch_namespaced_custom_object(
                *PLANS, OWN, "packingplans", plan, {"spec": {"bindings": []}}
            ),
            "read another Lease": lambda: custom.get_namespaced_custom_object(
                *leases, OWN, "leases", "kube-scheduler"
            ),
            "create a plan elsewhere": lambda: custom.create_namespaced_custom_object(
                *PLANS, "default", "packingplans", plan_body
            ),
            "create a Lease elsewhere": lambda: custom.create_namespaced_custom_object(
                *leases, "default", "leases", lease
            ),
        }
        assert {what: _status_of(call) for what, call in refused.items()} == dict.fromkeys(
            refused, 403
        )
        api.close()
    finally:
        cluster_factory.delete(cluster)
