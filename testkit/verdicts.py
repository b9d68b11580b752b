"""The independent checker's verdict on one pod pinned to one node, named as kube-scheduler
names its first failing filter, for the differential test (``testkit/differential.py``).

kube-scheduler runs its filters on a node in a fixed order and reports the first one that fails
(``frameworkImpl.RunFilterPlugins``): the node-level ones (NodeUnschedulable, TaintToleration,
NodeAffinity, NodePorts, NodeResourcesFit), then PodTopologySpread, then InterPodAffinity, which
checks the pod's affinity, its anti-affinity, then running pods' anti-affinity
(``interpodaffinity/filtering.go``). The checker's rules (``testkit/checker.py``,
``testkit/interpod.py``) are asked in the same order, so that a verdict names the reason
kube-scheduler must give: ``REASONS`` holds the text of each (the ``ErrReason...`` constants of
Kubernetes v1.36). Node-level verdicts are one class (``NODE``): the differential test is about
the inter-pod rules, and samples pairs that pass the node level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scheduler_ext.domain import Cluster, Pod
from testkit.checker import capacity_violation, node_rejects, port_conflict
from testkit.interpod import Placed, Rules

ALLOWED = "allowed"
NODE = "node-level"
SPREAD = "spread"
AFFINITY = "affinity"
ANTI_AFFINITY = "anti-affinity"
EXISTING_ANTI_AFFINITY = "existing-anti-affinity"
RULES = (SPREAD, AFFINITY, ANTI_AFFINITY, EXISTING_ANTI_AFFINITY)

REASONS = {
    SPREAD: "didn't match pod topology spread constraints",
    AFFINITY: "didn't match pod affinity rules",
    ANTI_AFFINITY: "didn't match pod anti-affinity rules",
    EXISTING_ANTI_AFFINITY: "didn't satisfy existing pods anti-affinity rules",
}
"""What kube-scheduler's PodScheduled condition (and FailedScheduling event) says per rule."""


@dataclass(frozen=True)
class Verdict:
    rule: str
    """``ALLOWED``, ``NODE`` or one of ``RULES``: the first check that fails."""
    detail: str = ""

    def __str__(self) -> str:
        return self.rule if not self.detail else f"{self.rule} ({self.detail})"


def verdict(cluster: Cluster, placed: Placed, pod: Pod, node: str) -> Verdict:
    """Would kube-scheduler place ``pod`` on ``node`` with ``placed`` running, and if not, which
    filter refuses it first? ``cluster`` gives the nodes and namespaces."""
    target = next(n for n in cluster.nodes if n.name == node)
    reason = node_rejects(pod, target)
    if reason is None:
        here = [p for p, where in placed if where == node]
        reason = port_conflict([*here, pod]) or capacity_violation(target, [*here, pod])
    if reason is not None:
        return Verdict(NODE, reason)
    rules = Rules(cluster)
    for rule, check in (
        (SPREAD, rules.spread_violation),
        (AFFINITY, rules.affinity_violation),
        (ANTI_AFFINITY, rules.own_anti_affinity_violation),
        (EXISTING_ANTI_AFFINITY, rules.existing_anti_affinity_violation),
    ):
        reason = check(pod, node, placed)
        if reason is not None:
            return Verdict(rule, reason)
    return Verdict(ALLOWED)


def agrees(expected: Verdict, scheduled_on: str | None, message: str, node: str) -> bool:
    """Does kube-scheduler's outcome (the node it bound the pod to, or its Unschedulable
    message) match the checker's verdict for ``node``?"""
    if expected.rule == ALLOWED:
        return scheduled_on == node
    if scheduled_on is not None:
        return False
    if expected.rule == NODE:
        return bool(message)
    return REASONS[expected.rule] in message and not any(
        REASONS[r] in message for r in RULES if r != expected.rule
    )


def rule_names() -> Sequence[str]:
    return (ALLOWED, *RULES)
