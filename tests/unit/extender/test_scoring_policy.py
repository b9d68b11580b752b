"""The ``policy`` prioritize rule: on random stores the vectorised answer (``rule_hosts`` over the
store's columns) equals a per-node reference written out here in plain Python (rooms from
``store.room``, the features by their definition, the network with ``math.tanh``), scores stay in
kube-scheduler's 0..10, and a node the policy prefers scores higher."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from scheduler_ext.cluster.accounting import Room
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender import scoring
from scheduler_ext.solvers.policy.network import PRIORITIZE_WEIGHTS_FILE, PolicyNet, shipped
from testkit.builders import api_node, api_pod
from tests.unit.extender.test_filtering import _node, _pod
from tests.unit.extender.test_scoring import _demands


def _share(value: float) -> float:
    return min(1.0, max(0.0, value))


def reference_raw(net: PolicyNet, demand: Mapping[str, int], room: Room) -> float:
    """The network's output for one node, from its definition (no numpy in the arithmetic)."""
    assert room is not None
    alloc, free = room
    left, asked = [], []
    for name in ("cpu", "memory"):
        capacity = max(alloc.get(name, 0), 1)
        left.append(_share((free.get(name, 0) - demand.get(name, 0)) / capacity))
        asked.append(_share(demand.get(name, 0) / capacity))
    pods = _share((free.get("pods", 0) - 1) / max(alloc.get("pods", 0), 1))
    x = [left[0], left[1], pods, asked[0], asked[1], max(left) - min(left), min(left), 0.0, 0.0]
    weights, bias, output = (p.tolist() for p in net.parameters)
    hidden = [
        math.tanh(sum(x[i] * weights[i][j] for i in range(len(x))) + bias[j])
        for j in range(len(bias))
    ]
    return float(sum(h * w for h, w in zip(hidden, output, strict=True)))


def reference_hosts(
    net: PolicyNet, demand: Mapping[str, int], names: Sequence[str], rooms: Sequence[Room]
) -> tuple[list[str], list[int]]:
    """Per node: fits (every resource asked for, by the dicts), the raw output, and 10 x its
    sigmoid, rounded; nodes scoring 0 left out."""
    fitting = [
        (name, room)
        for name, room in zip(names, rooms, strict=True)
        if room is not None
        and all(room[1].get(r, 0) >= amount for r, amount in demand.items() if amount > 0)
    ]
    raws = [reference_raw(net, demand, room) for _, room in fitting]
    scores = [round(10 / (1 + math.exp(-raw))) for raw in raws]
    kept = [(name, s) for (name, _), s in zip(fitting, scores, strict=True) if s > 0]
    return [name for name, _ in kept], [s for _, s in kept]


def _answer(
    store: ClusterStore, demand: dict[str, int], asked: list[str]
) -> tuple[list[str], list[int]] | None:
    columns = store.node_columns(scoring.rule_resources(scoring.POLICY, demand))
    return scoring.rule_hosts(scoring.POLICY, demand, asked, columns)


@pytest.mark.parametrize("seed", range(30))
def test_policy_scores_equal_the_plain_reference(seed: int) -> None:
    rng = random.Random(seed)
    store = ClusterStore()
    names = [f"n{i}" for i in range(rng.choice([0, 3, 8, 70]))]
    store.replace("Node", [_node(n, rng) for n in names])
    pods = [_pod(f"p{i}", rng.choice([*names, None]), rng) for i in range(len(names) * 2)]
    store.replace("Pod", pods)
    asked = [*names, "unknown-node", *rng.sample(names, min(2, len(names)))]
    rng.shuffle(asked)
    net = shipped(PRIORITIZE_WEIGHTS_FILE)
    for demand in _demands(rng):
        got = _answer(store, demand, asked)
        assert got is not None
        hosts, scores = got
        assert all(1 <= s <= scoring.MAX_SCORE for s in scores)
        expected_hosts, expected_scores = reference_hosts(net, demand, asked, store.room(asked))
        assert hosts == expected_hosts, demand
        # float64 against Python floats: a score may differ by one where 10 x sigmoid is at .5
        assert len(scores) == len(expected_scores)
        assert all(abs(a - b) <= 1 for a, b in zip(scores, expected_scores, strict=True))
        assert sum(a != b for a, b in zip(scores, expected_scores, strict=True)) <= 1


def _room_store(free_cpu: Sequence[int]) -> ClusterStore:
    """Nodes of 4 cpu and 8Gi; node i has 4000 - free_cpu[i] millicores in use."""
    store = ClusterStore()
    alloc = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    store.replace("Node", [api_node(f"n{i}", allocatable=alloc) for i in range(len(free_cpu))])
    used = [(i, 4000 - f) for i, f in enumerate(free_cpu) if f < 4000]
    pods = [
        api_pod(f"busy-{i}", namespace="t", node_name=f"n{i}", requests={"cpu": f"{cpu}m"})
        for i, cpu in used
    ]
    store.replace("Pod", pods)
    return store


def test_the_node_the_policy_prefers_scores_higher() -> None:
    """With the shipped weights: the order of the scores is the order of the policy's outputs
    (by the reference), and the node the pod fills in cpu and memory scores above the empty one."""
    store = _room_store([500, 1500, 3000, 4000])
    demand = {"cpu": 500, "memory": 6 << 30, "pods": 1}
    asked = ["n3", "n2", "n1", "n0"]
    got = _answer(store, demand, asked)
    assert got is not None
    scored = dict(zip(*got, strict=True))
    net = shipped(PRIORITIZE_WEIGHTS_FILE)
    rooms = zip(asked, store.room(asked), strict=True)
    raws = {n: reference_raw(net, demand, room) for n, room in rooms}
    assert raws["n0"] > raws["n3"]
    assert scored["n0"] > scored.get("n3", 0)  # full after the pod against empty
    by_raw = sorted(asked, key=raws.__getitem__, reverse=True)
    ranks = [scored.get(n, 0) for n in by_raw]
    assert ranks == sorted(ranks, reverse=True)


def test_a_flat_policy_scores_every_fitting_node_alike_and_no_node_without_room() -> None:
    flat = PolicyNet(np.zeros((9, 4)), np.zeros(4), np.zeros(4))
    store = _room_store([200, 1000, 4000])
    columns = store.node_columns(scoring.rule_resources(scoring.POLICY, {"cpu": 800, "pods": 1}))
    answer = scoring.policy_hosts({"cpu": 800, "pods": 1}, ["n0", "n1", "n2"], columns, net=flat)
    assert answer == (["n1", "n2"], [5, 5])  # 10 x sigmoid(0), rounded half to even
    assert scoring.policy_hosts({"cpu": 5000}, ["n0", "n1"], columns, net=flat) == ([], [])
    assert scoring.policy_hosts({"x/gpu": 1}, ["n0"], columns, net=flat) == ([], [])


def test_beyond_exact_float_the_policy_hands_back_to_the_loop() -> None:
    store = ClusterStore()
    store.replace(
        "Node",
        [{"metadata": {"name": "n"}, "status": {"allocatable": {"cpu": "4", "memory": "64Pi"}}}],
    )
    columns = store.node_columns(scoring.rule_resources(scoring.POLICY, {"cpu": 1}))
    assert scoring.rule_hosts(scoring.POLICY, {"cpu": 1}, ["n"], columns) is None
