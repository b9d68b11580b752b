"""Filter and prioritize rules on hand-made rooms."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scheduler_ext.planning.scoring import best_fit_score, filter_nodes, misfit, prioritize_nodes

ALLOC = {"cpu": 4000, "memory": 8000, "pods": 10}


def room(cpu: int, memory: int, pods: int = 5) -> tuple[dict[str, int], dict[str, int]]:
    return ALLOC, {"cpu": cpu, "memory": memory, "pods": pods}


def test_misfit_names_every_short_resource() -> None:
    demand = {"cpu": 1000, "memory": 1000, "pods": 1}
    assert misfit(demand, {"cpu": 999, "memory": 1000, "pods": 0}) == (
        "scheduler-ext: Insufficient cpu, Too many pods"
    )
    assert misfit(demand, {"cpu": 1000, "memory": 1000, "pods": 1}) is None


def test_filter_keeps_order_and_passes_unknown_nodes() -> None:
    demand = {"cpu": 1000, "pods": 1}
    passed, failed = filter_nodes(
        demand, ["a", "b", "c"], [room(500, 0), None, room(1000, 0, pods=1)]
    )
    assert passed == ["b", "c"]
    assert failed == {"a": "scheduler-ext: Insufficient cpu"}


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
