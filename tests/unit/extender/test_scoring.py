"""The prioritize rule on hand-made rooms; and the vectorised prioritize
(``ClusterStore.node_columns`` + ``scoring.scoring_hosts``) answers exactly the nodes the per-node
reference (``store.room`` + ``scoring.prioritize_nodes``) scores above 0, with the same scores, in
the order asked, on random stores: full and overcommitted nodes, unknown nodes, repeated names,
extended resources, deleted and re-added nodes (reused slots), many nodes (growing arrays),
assumed pods; and it hands back to the loop when a quantity is too large for exact float64."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler_ext.cluster.accounting import EXACT_LIMIT
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender import scoring
from scheduler_ext.extender.scoring import best_fit_score, prioritize_nodes
from testkit.factories import pod as make_pod
from tests.unit.extender.test_filtering import _node, _pod

ALLOC = {"cpu": 4000, "memory": 8000, "pods": 10}


def room(cpu: int, memory: int, pods: int = 5) -> tuple[dict[str, int], dict[str, int]]:
    return ALLOC, {"cpu": cpu, "memory": memory, "pods": pods}


def test_best_fit_prefers_the_node_left_fullest_in_its_roomiest_resource() -> None:
    demand = {"cpu": 1000, "memory": 1000, "pods": 1}
    full = best_fit_score(demand, room(1000, 1000))  # nothing left: 10
    half = best_fit_score(demand, room(3000, 5000))  # 50% cpu, 50% memory left
    lopsided = best_fit_score(demand, room(1000, 8000))  # cpu gone, memory stranded
    empty = best_fit_score(demand, room(4000, 8000))
    assert (full, half, lopsided, empty) == (10, 5, 1, 1)
    assert best_fit_score(demand, room(500, 8000)) == 0  # does not fit
    assert best_fit_score(demand, None) == 0
    assert best_fit_score({"pods": 1}, room(1, 1)) == 0


@given(
    demand=st.dictionaries(st.sampled_from(["cpu", "memory", "pods", "x/gpu"]), st.integers(0, 9)),
    rooms=st.lists(
        st.none()
        | st.tuples(
            st.dictionaries(st.sampled_from(["cpu", "memory", "pods"]), st.integers(0, 9)),
            st.dictionaries(
                st.sampled_from(["cpu", "memory", "pods", "x/gpu"]), st.integers(-2, 9)
            ),
        ),
        max_size=5,
    ),
)
def test_the_inlined_batch_scores_like_the_rule(
    demand: dict[str, int], rooms: list[tuple[dict[str, int], dict[str, int]] | None]
) -> None:
    names = [f"n{i}" for i in range(len(rooms))]
    expected = [best_fit_score(demand, room) for room in rooms]
    assert prioritize_nodes(demand, names, rooms) == expected


def test_scores_stay_in_the_extender_range() -> None:
    demand = {"cpu": 1, "example.com/gpu": 1, "pods": 1}
    scores = prioritize_nodes(
        demand,
        ["a", "b"],
        [({"cpu": 10, "pods": 1}, {"cpu": 10, "example.com/gpu": 5, "pods": 1}), None],
    )
    assert all(0 <= score <= 10 for score in scores)


def _hosts(
    store: ClusterStore, demand: dict[str, int], asked: list[str]
) -> tuple[list[str], list[int]] | None:
    every = store.node_columns(demand)
    assert every is not None
    return scoring.scoring_hosts(demand, asked, every)


def _reference(
    store: ClusterStore, demand: dict[str, int], asked: list[str]
) -> tuple[list[str], list[int]]:
    scores = scoring.prioritize_nodes(demand, asked, store.room(asked))
    kept = [(name, score) for name, score in zip(asked, scores, strict=True) if score > 0]
    return [name for name, _ in kept], [score for _, score in kept]


def _demands(rng: random.Random) -> list[dict[str, int]]:
    demands: list[dict[str, int]] = [{}, {"pods": 1}, {"cpu": 0, "pods": 1}]
    for cpu in (0, 100, 900, 2500, 4000):
        demand = {"cpu": cpu, "memory": rng.choice([0, 1 << 29, 1 << 30, 3 << 30]), "pods": 1}
        if rng.random() < 0.3:
            demand["example.com/gpu"] = rng.choice([1, 2])
        if rng.random() < 0.2:
            demand["example.com/fpga"] = 1  # no node has it
        demands.append(demand)
    return demands


@pytest.mark.parametrize("few", [0, 10**9], ids=["match-scoring-nodes", "look-up-every-name"])
@pytest.mark.parametrize("seed", range(60))
def test_vectorised_scores_equal_the_per_node_reference(
    seed: int, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scoring, "FEW_SCORING", few)  # each of the two ways to answer
    rng = random.Random(seed)
    store = ClusterStore()
    names = [f"n{i}" for i in range(rng.choice([0, 3, 8, 70, 150]))]
    store.replace("Node", [_node(n, rng) for n in names])
    pods = [_pod(f"p{i}", rng.choice([*names, "gone", None]), rng) for i in range(len(names) * 2)]
    store.replace("Pod", pods)
    if names and rng.random() < 0.5:  # a node deleted after its pods were counted
        store.apply("Node", "DELETED", {"metadata": {"name": names[0]}})
        if rng.random() < 0.5:  # and another node taking its slot
            store.apply("Node", "ADDED", _node("reused", rng))
    if names and rng.random() < 0.5:  # a bind the watch has not confirmed yet
        store.assume(make_pod("assumed", cpu=700, namespace="t"), rng.choice(names))
    if rng.random() < 0.3:  # a node added late
        store.apply("Node", "ADDED", _node("late", rng))
    asked = [*names, "late", "reused", "unknown-node", *rng.sample(names, min(2, len(names)))]
    rng.shuffle(asked)
    for demand in _demands(rng):
        assert _hosts(store, demand, asked) == _reference(store, demand, asked), demand


def _exact_store(cpu: str, memory: str) -> ClusterStore:
    node: dict[str, Any] = {
        "metadata": {"name": "n"},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}},
    }
    store = ClusterStore()
    store.replace("Node", [node])
    return store


def test_half_way_scores_round_half_to_even_like_python() -> None:
    store = _exact_store("4", "8Gi")
    for cpu in range(0, 4001, 50):  # 10 x (1 - left) lands on .5 for several of these
        demand = {"cpu": cpu, "pods": 1}
        assert _hosts(store, demand, ["n"]) == _reference(store, demand, ["n"])


def test_quantities_beyond_exact_float_fall_back_to_the_loop() -> None:
    store = _exact_store("4", "64Pi")  # 2**56 bytes: beyond 2**53
    assert not store.node_columns({"memory": 1}).float_exact
    assert scoring.scoring_hosts({"memory": 1}, ["n"], store.node_columns({"memory": 1})) is None
    small = _exact_store("4", "8Gi")
    every = small.node_columns({"cpu": 1})
    assert scoring.scoring_hosts({"cpu": EXACT_LIMIT, "pods": 1}, ["n"], every) is None
