"""Node accounting on its own: free room follows charges and node changes in any order, slots are
recycled only when neither a Node nor a pod holds them, and numbers stay exact beyond float64 and
int64 (the columns then say they are not float-exact)."""

from __future__ import annotations

import random

import pytest

from scheduler_ext.cluster.accounting import EXACT_LIMIT, NodeAccounting


def test_pods_charged_before_their_node_count_once_it_appears() -> None:
    nodes = NodeAccounting()
    nodes.charge("n1", {"cpu": 500, "pods": 1}, +1)
    assert nodes.room(["n1"]) == [None]  # no Node yet: not known
    nodes.set_node("n1", {"cpu": 2000, "pods": 3})
    assert nodes.room(["n1"]) == [({"cpu": 2000, "pods": 3}, {"cpu": 1500, "pods": 2})]
    nodes.set_node("n1", None)
    assert nodes.room(["n1"]) == [None]
    nodes.set_node("n1", {"cpu": 1000, "pods": 3})  # back, smaller: the pod still counts
    assert nodes.room(["n1"]) == [({"cpu": 1000, "pods": 3}, {"cpu": 500, "pods": 2})]


def test_a_slot_is_recycled_only_when_nothing_holds_it() -> None:
    nodes = NodeAccounting()
    nodes.set_node("a", {"cpu": 1000})
    nodes.charge("a", {"cpu": 100}, +1)
    nodes.set_node("a", None)
    assert "a" in nodes.columns(["cpu"]).slots  # a pod still counts there
    nodes.charge("a", {"cpu": 100}, -1)
    assert "a" not in nodes.columns(["cpu"]).slots
    nodes.set_node("b", {"cpu": 7})  # takes the freed slot, with nothing left of "a"
    columns = nodes.columns(["cpu"])
    slot = columns.slots["b"]
    assert int(columns.free["cpu"][slot]) == 7
    assert columns.names[slot] == "b"


@pytest.mark.parametrize("seed", range(20))
def test_columns_equal_a_recount_after_random_events(seed: int) -> None:
    rng = random.Random(seed)
    nodes = NodeAccounting()
    alloc: dict[str, dict[str, int]] = {}
    charged: list[tuple[str, dict[str, int]]] = []
    for _ in range(200):
        name = f"n{rng.randrange(12)}"
        roll = rng.random()
        if roll < 0.3:
            alloc[name] = {"cpu": rng.choice([1000, 2000]), "x/gpu": rng.choice([0, 1, 2])}
            nodes.set_node(name, alloc[name])
        elif roll < 0.4:
            alloc.pop(name, None)
            nodes.set_node(name, None)
        elif roll < 0.8 or not charged:
            demand = {"cpu": rng.choice([100, 300]), "pods": 1}
            charged.append((name, demand))
            nodes.charge(name, demand, +1)
        else:
            node, demand = charged.pop(rng.randrange(len(charged)))
            nodes.charge(node, demand, -1)
    names = [f"n{i}" for i in range(12)]
    for name, room in zip(names, nodes.room(names), strict=True):
        if name not in alloc:
            assert room is None
            continue
        assert room is not None
        used = {"cpu": 0, "pods": 0}
        for node, demand in charged:
            if node == name:
                for resource, amount in demand.items():
                    used[resource] += amount
        assert room[0] == {r: v for r, v in alloc[name].items() if v}
        for resource in ("cpu", "pods", "x/gpu"):
            expected = alloc[name].get(resource, 0) - used.get(resource, 0)
            assert room[1].get(resource, 0) == expected


def test_numbers_beyond_float64_and_int64_stay_exact() -> None:
    nodes = NodeAccounting()
    nodes.set_node("n", {"memory": 2**56, "x/big": 10**30})
    assert nodes.columns(["cpu"]).float_exact
    assert not nodes.columns(["memory"]).float_exact  # 2**56 >= 2**53
    assert nodes.short_resources({"memory": EXACT_LIMIT * 4}) == []  # 2**55 <= 2**56: fits
    assert nodes.short_resources({"x/big": 10**30 + 1}) == ["x/big"]
    nodes.charge("n", {"x/big": 1}, +1)
    [(alloc, free)] = nodes.room(["n"])  # type: ignore[misc]
    assert free["x/big"] == 10**30 - 1
    assert alloc["memory"] == 2**56
