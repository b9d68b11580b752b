"""Only pods a trusted evictor would evict, and the Eviction API would let go, are movable; every
other pod says which named rule keeps it, and each switch turns its rule off and nothing else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scheduler_ext.domain import DisruptionBudget, OwnerRef, Pod
from scheduler_ext.model.movability import (
    BUDGET_RULES,
    DEFAULT_MOVABLE_OWNER_KINDS,
    RULES,
    EvictionPolicy,
    budget_allowance,
    immovable_reason,
)
from testkit.factories import pod

DOCS = Path(__file__).resolve().parents[3] / "docs" / "eviction-rules.md"
PVC = 'PersistentVolumeClaim volume "data"'
EVERYTHING_ALLOWED = EvictionPolicy(
    movable_owner_kinds=frozenset({"ReplicaSet", "StatefulSet", "Job", "Workflow"}),
    allow_local_storage=True,
    allow_pvc=True,
)


def running(**fields: Any) -> Pod:
    fields.setdefault("node", "n1")
    return pod("web-1", **fields)


def rule_of(reason: str | None) -> str | None:
    return None if reason is None else reason.split(":", 1)[0]


@pytest.mark.parametrize(
    ("rule", "p"),
    [
        pytest.param(
            "mirror-pod",
            running(annotations={"kubernetes.io/config.mirror": "abc"}, owner=None),
            id="mirror-annotation",
        ),
        pytest.param("mirror-pod", running(owner=OwnerRef("Node", "n1")), id="owned-by-node"),
        pytest.param("daemonset", running(owner=OwnerRef("DaemonSet", "ds")), id="daemonset"),
        pytest.param("terminating", running(terminating=True), id="terminating"),
        pytest.param("kube-system", running(namespace="kube-system"), id="kube-system"),
        pytest.param("system-critical", running(priority=2_000_000_000), id="critical-priority"),
        pytest.param(
            "system-critical",
            running(priority_class_name="system-node-critical"),
            id="critical-class",
        ),
        pytest.param(
            "system-critical",
            running(priority_class_name="system-cluster-critical", priority=0),
            id="cluster-critical-class",
        ),
        pytest.param("no-controller", running(owner=None), id="bare-pod"),
        pytest.param("owner-kind", running(owner=OwnerRef("Job", "batch-1")), id="job"),
        pytest.param(
            "owner-kind", running(owner=OwnerRef("Workflow", "wf")), id="custom-controller"
        ),
        pytest.param(
            "owner-kind",
            running(owner=OwnerRef("ReplicationController", "rc")),
            id="replication-controller-not-by-default",
        ),
        pytest.param("other-scheduler", running(scheduler_name="volcano"), id="other-scheduler"),
        pytest.param(
            "safe-to-evict",
            running(annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}),
            id="safe-to-evict-false",
        ),
        pytest.param(
            "do-not-disrupt",
            running(annotations={"karpenter.sh/do-not-disrupt": "true"}),
            id="karpenter-do-not-disrupt",
        ),
        pytest.param(
            "prefer-no-eviction",
            running(annotations={"descheduler.alpha.kubernetes.io/prefer-no-eviction": ""}),
            id="descheduler-prefer-no-eviction",
        ),
        pytest.param("local-storage", running(local_storage=True), id="local-storage"),
        pytest.param(
            "pvc",
            running(owner=OwnerRef("StatefulSet", "db"), volume_claims=(PVC,)),
            id="statefulset-with-pvc",
        ),
        pytest.param("pvc", running(volume_claims=(PVC,)), id="replicaset-with-pvc"),
        pytest.param("unmodelled", running(unmodelled="resource claims (DRA)"), id="unmodelled"),
    ],
)
def test_each_rule_names_itself(rule: str, p: Pod) -> None:
    reason = immovable_reason(p)
    assert rule_of(reason) == rule, reason
    assert reason is not None
    assert len(reason) > len(rule) + 2  # the rule, then what it saw


def test_two_budgets() -> None:
    reason = immovable_reason(running(), budgets=("default/a", "default/b"))
    assert rule_of(reason) == "two-budgets"
    assert reason is not None
    assert "default/a" in reason
    assert "default/b" in reason
    assert immovable_reason(running(), budgets=("default/a",)) is None
    # No switch: the Eviction API refuses such a pod whatever the operator allows.
    assert rule_of(immovable_reason(running(), EVERYTHING_ALLOWED, ("a", "b"))) == "two-budgets"


@pytest.mark.parametrize(
    "p",
    [
        pytest.param(running(), id="replicaset-pod"),
        pytest.param(running(owner=OwnerRef("StatefulSet", "db")), id="statefulset-without-pvc"),
        pytest.param(running(priority=1_999_999_999), id="high-but-not-critical"),
        pytest.param(
            running(annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}),
            id="safe-to-evict-true",
        ),
        pytest.param(
            running(annotations={"karpenter.sh/do-not-disrupt": "false"}), id="karpenter-false"
        ),
        pytest.param(running(scheduler_name="default-scheduler"), id="default-scheduler"),
        pytest.param(running(node=None), id="pending-pod-is-answerable"),
    ],
)
def test_movable(p: Pod) -> None:
    assert immovable_reason(p) is None


def test_default_owner_kinds() -> None:
    assert {"ReplicaSet", "StatefulSet"} == DEFAULT_MOVABLE_OWNER_KINDS
    assert EvictionPolicy().movable_owner_kinds == DEFAULT_MOVABLE_OWNER_KINDS


@pytest.mark.parametrize(
    ("p", "policy"),
    [
        pytest.param(
            running(local_storage=True), EvictionPolicy(allow_local_storage=True), id="local"
        ),
        pytest.param(
            running(owner=OwnerRef("StatefulSet", "db"), volume_claims=(PVC,)),
            EvictionPolicy(allow_pvc=True),
            id="pvc",
        ),
        pytest.param(
            running(owner=OwnerRef("Job", "batch-1")),
            EvictionPolicy(movable_owner_kinds=frozenset({"ReplicaSet", "Job"})),
            id="job-opted-in",
        ),
        pytest.param(
            running(owner=OwnerRef("Workflow", "wf")),
            EvictionPolicy(movable_owner_kinds=frozenset({"Workflow"})),
            id="custom-kind-opted-in",
        ),
    ],
)
def test_each_switch_opens_its_rule(p: Pod, policy: EvictionPolicy) -> None:
    assert immovable_reason(p) is not None
    assert immovable_reason(p, policy) is None


def test_owner_kinds_can_also_close_a_default_kind() -> None:
    p = running(owner=OwnerRef("StatefulSet", "db"))
    policy = EvictionPolicy(movable_owner_kinds=frozenset({"ReplicaSet"}))
    assert rule_of(immovable_reason(p, policy)) == "owner-kind"


@pytest.mark.parametrize(
    ("rule", "p"),
    [
        pytest.param("mirror-pod", running(owner=OwnerRef("Node", "n1")), id="mirror"),
        pytest.param("daemonset", running(owner=OwnerRef("DaemonSet", "ds")), id="daemonset"),
        pytest.param("no-controller", running(owner=None), id="bare"),
        pytest.param("other-scheduler", running(scheduler_name="volcano"), id="scheduler"),
        pytest.param("kube-system", running(namespace="kube-system"), id="kube-system"),
    ],
)
def test_no_switch_opens_the_fixed_rules(rule: str, p: Pod) -> None:
    assert rule_of(immovable_reason(p, EVERYTHING_ALLOWED)) == rule


def test_a_switch_opens_only_its_own_rule() -> None:
    both = running(local_storage=True, volume_claims=(PVC,))
    assert rule_of(immovable_reason(both, EvictionPolicy(allow_local_storage=True))) == "pvc"
    assert rule_of(immovable_reason(both, EvictionPolicy(allow_pvc=True))) == "local-storage"


def budget(allowed: int = 1, **fields: Any) -> DisruptionBudget:
    return DisruptionBudget("default", "db", None, allowed, **fields)


@pytest.mark.parametrize(
    ("b", "allowance"),
    [
        pytest.param(budget(2), 2, id="current"),
        pytest.param(budget(2, generation=3, observed_generation=3), 2, id="observed"),
        pytest.param(budget(2, generation=3, observed_generation=2), 0, id="stale"),
        pytest.param(budget(-1), 0, id="negative"),
        pytest.param(budget(5, disrupted_pods=1999), 2, id="backlog-leaves-two"),
        pytest.param(budget(5, disrupted_pods=2000), 1, id="backlog-leaves-one"),
        pytest.param(budget(5, disrupted_pods=2001), 0, id="backlog-full"),
    ],
)
def test_budget_allowance(b: DisruptionBudget, allowance: int) -> None:
    assert budget_allowance(b) == allowance


def test_every_rule_is_documented_with_its_id() -> None:
    text = DOCS.read_text()
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE))
    assert documented == set(RULES) | set(BUDGET_RULES)


CUSTOM_REPLICA_SET = OwnerRef("ReplicaSet", "web", "u1", api_version="example.com/v1")


@pytest.mark.parametrize(
    ("owner", "kinds", "movable"),
    [
        pytest.param(OwnerRef("ReplicaSet", "web", "u1", "apps/v1"), None, True, id="apps-rs"),
        pytest.param(OwnerRef("ReplicaSet", "web"), None, True, id="api-version-not-stated"),
        pytest.param(CUSTOM_REPLICA_SET, None, False, id="custom-group-rs"),
        pytest.param(CUSTOM_REPLICA_SET, {"ReplicaSet.example.com"}, True, id="custom-rs-listed"),
        pytest.param(
            OwnerRef("StatefulSet", "db", "u1", "apps.kruise.io/v1beta1"), None, False, id="kruise"
        ),
        pytest.param(OwnerRef("Job", "j", "u1", "batch/v1"), {"Job"}, True, id="batch-job"),
        pytest.param(OwnerRef("Job", "j", "u1", "example.com/v1"), {"Job"}, False, id="other-job"),
        pytest.param(OwnerRef("Workflow", "w", "u1", "argoproj.io/v1"), {"Workflow"}, True),
        pytest.param(
            OwnerRef("Workflow", "w", "u1", "argoproj.io/v1"), {"Workflow.argoproj.io"}, True
        ),
        pytest.param(OwnerRef("Workflow", "w", "u1", "argoproj.io/v1"), {"Workflow.x.io"}, False),
    ],
)
def test_owner_kind_takes_the_api_group_into_account(
    owner: OwnerRef, kinds: set[str] | None, movable: bool
) -> None:
    policy = (
        EvictionPolicy() if kinds is None else EvictionPolicy(movable_owner_kinds=frozenset(kinds))
    )
    reason = immovable_reason(running(owner=owner), policy)
    assert (reason is None) == movable, reason
    if not movable:
        assert rule_of(reason) == "owner-kind"


def test_a_custom_group_is_named_in_the_reason() -> None:
    reason = immovable_reason(running(owner=CUSTOM_REPLICA_SET))
    assert reason is not None
    assert "owned by a ReplicaSet.example.com" in reason
