"""Enforce mode's extra RBAC (deploy/rbac-enforce.yaml) is enough for every write of plan
execution, made through the service's own client (``KubeClient``) with the ServiceAccount's token:
a policy/v1 Eviction, the plan annotation on a pod, an events.k8s.io/v1 Event; without it, the
eviction is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler_ext.cluster.client import KubeClient
from scheduler_ext.cluster.eviction import EvictionResult
from scheduler_ext.errors import ExecutionError
from testkit import builders
from testkit.kube import Kube
from testkit.service import REPO
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory
from tests.e2e.test_rbac import _token_kubeconfig

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RBAC = REPO / "deploy" / "rbac.yaml"
ENFORCE = REPO / "deploy" / "rbac-enforce.yaml"


def test_the_enforce_role_allows_the_writes_of_execution(
    cluster_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster = cluster_factory(builders.scheduler_config(), prefix="rbacx")
    try:
        cluster.kubectl("apply", "-f", str(RBAC))
        with Kube(cluster.api_client()) as admin:
            token = admin.core.create_namespaced_service_account_token(
                "scheduler-ext", "kube-system", {"spec": {"expirationSeconds": 3600}}
            ).status.token
            admin.create(builders.namespace("rbacx"))
            admin.create_nodes([builders.node("rbacx-n1", cpu="4")])
            for name in ("victim", "other"):
                admin.create(builders.pod(name, namespace="rbacx", requests={"cpu": "100m"}))
            uids = {
                name: admin.wait_pod(
                    name, "rbacx", lambda p: bool(p.spec.node_name), description=name
                ).metadata.uid
                for name in ("victim", "other")
            }
        kubeconfig = _token_kubeconfig(cluster.kubeconfig, token, tmp_path / "sa.kubeconfig")
        client = KubeClient.connect(str(kubeconfig))
        try:
            refused = client.evict("rbacx", "other", uids["other"])
            assert refused.result is EvictionResult.REFUSED
            assert refused.detail.startswith("403")
            with pytest.raises(ExecutionError):
                client.annotate_pod("rbacx", "other", {"scheduler-ext.io/plan": "p"})
            cluster.kubectl("apply", "-f", str(ENFORCE))
            # The API server's authorizer learns of the new binding from its own watch, a
            # moment after the apply: until then the eviction is refused (403), as above. A
            # harmless one (the UID precondition fails) is retried until it is judged on its
            # merits; refused for ever, it times out.
            outcome = wait_for(
                lambda: client.evict("rbacx", "victim", "not-its-uid"),
                lambda tried: (
                    not (tried.result is EvictionResult.REFUSED and tried.detail.startswith("403"))
                ),
                description="the enforce role in force",
                describe=lambda tried: (tried.result, tried.detail),
            )
            assert outcome.result is EvictionResult.GONE, outcome  # the UID precondition holds
            outcome = client.evict("rbacx", "victim", uids["victim"])
            assert outcome.result is EvictionResult.EVICTED, outcome
            client.annotate_pod("rbacx", "other", {"scheduler-ext.io/plan": "plan-x"})
            client.annotate_pod("rbacx", "other", {"scheduler-ext.io/plan": None})
            client.create_event(
                "rbacx",
                {
                    "apiVersion": "events.k8s.io/v1",
                    "kind": "Event",
                    "metadata": {"name": "other.probe", "namespace": "rbacx"},
                    "eventTime": "2026-01-01T00:00:00.000000Z",
                    "type": "Normal",
                    "reason": "Probe",
                    "action": "Probing",
                    "note": "the enforce role may record Events",
                    "regarding": {"kind": "Pod", "namespace": "rbacx", "name": "other"},
                    "reportingController": "scheduler-ext.io/scheduler-ext",
                    "reportingInstance": "scheduler-ext-probe",
                },
            )
        finally:
            client.close()
        with Kube(cluster.api_client()) as admin:
            pod = admin.pod("other", "rbacx")
            assert "scheduler-ext.io/plan" not in (pod.metadata.annotations or {})
            victim = admin.pod_or_none("victim", "rbacx")
            assert victim is None or victim.metadata.deletion_timestamp is not None
            assert any("Probe" in line for line in admin.events("rbacx"))
    finally:
        cluster_factory.delete(cluster)
