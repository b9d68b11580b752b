"""The fragmentation benchmark's arms: every rule's end state is a valid placement (the checker),
a rule that adds the same to every node changes nothing, the policy's pick follows its scores,
and bad arguments are one line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from benchmarks import fragmentation
from benchmarks.workloads_paper import PaperSpec, paper_workload
from scheduler_ext.domain import Cluster
from scheduler_ext.solvers.policy.network import PolicyNet
from testkit import checker


def _instance() -> Cluster:
    return paper_workload(PaperSpec(nodes=8, pods_per_node=4, priorities=2, util=1.0, seed=7))


def _by_node(cluster: Cluster) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pod in cluster.pods:
        if pod.node_name:
            out.setdefault(pod.node_name, []).append(pod.name)
    return out


@pytest.mark.parametrize("rule", ["best-fit", "policy", "placement", "placement-range"])
def test_every_rule_leaves_nodes_within_capacity(rule: str) -> None:
    cluster = _instance()
    final = fragmentation.schedule(cluster, 1, rule).cluster
    for node in final.nodes:
        on = [p for p in final.pods if p.node_name == node.name]
        assert checker.capacity_violation(node, on) is None
    assert {p.key for p in final.pods} == {p.key for p in cluster.pods}  # no pod lost


def test_a_flat_policy_is_kube_scheduler_alone() -> None:
    """Zero weights: every candidate scores 5 (sigmoid) or 10 (ratio); kube's order stands."""
    flat = PolicyNet(np.zeros((9, 4)), np.zeros(4), np.zeros(4))
    cluster = _instance()
    alone = _by_node(fragmentation.schedule(cluster, 0).cluster)
    for rule in ("policy", "placement"):
        assert _by_node(fragmentation.schedule(cluster, 1, rule, flat).cluster) == alone


def test_arms_are_parsed_and_bad_ones_are_one_line(tmp_path: Path) -> None:
    weights = tmp_path / "w.npz"
    PolicyNet.random(0).save(weights)
    arms = fragmentation.parse_arms(f"best-fit,policy={weights}", "1,2")
    assert [(a.rule, a.weight) for a in arms] == [
        ("best-fit", 1),
        ("best-fit", 2),
        ("policy", 1),
        ("policy", 2),
    ]
    assert dataclasses.replace(arms[2]).label == "+ policy (w.npz), weight 1"
    for rules, levels in (("worst-fit", "1"), ("policy=/no/such.npz", "1"), ("best-fit", "0")):
        with pytest.raises(ValueError, match=r"^[^\n]+$"):
            fragmentation.parse_arms(rules, levels)
    assert fragmentation.main(["--rules", "nope"]) == 2
