"""Only pods a trusted evictor would evict are movable; every other pod says why it stays."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.domain import OwnerRef, Pod
from scheduler_ext.model.movability import immovable_reason
from testkit.factories import pod


def running(**fields: Any) -> Pod:
    fields.setdefault("node", "n1")
    return pod("web-1", **fields)


@pytest.mark.parametrize(
    ("p", "reason"),
    [
        pytest.param(
            running(annotations={"kubernetes.io/config.mirror": "abc"}, owner=None),
            "static (mirror) pod: the kubelet owns it",
            id="mirror-annotation",
        ),
        pytest.param(
            running(owner=OwnerRef("Node", "n1")),
            "static (mirror) pod: the kubelet owns it",
            id="owned-by-node",
        ),
        pytest.param(
            running(owner=OwnerRef("DaemonSet", "ds")),
            "DaemonSet pod: bound to its node",
            id="daemonset",
        ),
        pytest.param(running(terminating=True), "terminating", id="terminating"),
        pytest.param(
            running(namespace="kube-system"), "in namespace kube-system", id="kube-system"
        ),
        pytest.param(
            running(priority=2_000_000_000), "system-critical priority", id="critical-priority"
        ),
        pytest.param(
            running(priority_class_name="system-node-critical"),
            "system-critical priority",
            id="critical-class",
        ),
        pytest.param(
            running(priority_class_name="system-cluster-critical", priority=0),
            "system-critical priority",
            id="cluster-critical-class",
        ),
        pytest.param(running(owner=None), "no controller: it would be lost", id="bare-pod"),
        pytest.param(
            running(annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}),
            'annotated cluster-autoscaler.kubernetes.io/safe-to-evict: "false"',
            id="safe-to-evict-false",
        ),
        pytest.param(
            running(annotations={"karpenter.sh/do-not-disrupt": "true"}),
            'annotated karpenter.sh/do-not-disrupt: "true"',
            id="karpenter-do-not-disrupt",
        ),
        pytest.param(
            running(annotations={"descheduler.alpha.kubernetes.io/prefer-no-eviction": ""}),
            "annotated descheduler.alpha.kubernetes.io/prefer-no-eviction",
            id="descheduler-prefer-no-eviction",
        ),
        pytest.param(
            running(local_storage=True),
            "uses local storage (emptyDir or hostPath): its data would be lost",
            id="local-storage",
        ),
        pytest.param(
            running(unmodelled="required pod anti-affinity"),
            "has required pod anti-affinity; never moved",
            id="unmodelled",
        ),
    ],
)
def test_immovable(p: Pod, reason: str) -> None:
    assert immovable_reason(p) == reason
    assert immovable_reason(p, allow_local_storage=True) == reason or p.local_storage


@pytest.mark.parametrize(
    "p",
    [
        pytest.param(running(), id="replicaset-pod"),
        pytest.param(running(priority=1_999_999_999), id="high-but-not-critical"),
        pytest.param(
            running(annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}),
            id="safe-to-evict-true",
        ),
        pytest.param(
            running(annotations={"karpenter.sh/do-not-disrupt": "false"}), id="karpenter-false"
        ),
        pytest.param(running(owner=OwnerRef("StatefulSet", "db")), id="statefulset-without-pvc"),
        pytest.param(running(node=None), id="pending-pod-is-answerable"),
    ],
)
def test_movable(p: Pod) -> None:
    assert immovable_reason(p) is None


def test_local_storage_when_allowed() -> None:
    p = running(local_storage=True)
    assert immovable_reason(p, allow_local_storage=True) is None
