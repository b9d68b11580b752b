"""prioritize over HTTP: the vectorised scores and the hand-joined HostPriorityList equal the
per-node rule (nodes scoring 0 left out) and orjson's answer, on one, many and no nodes, and
when a node's quantities are too large for the vectorised path (the per-node loop answers
then)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from scheduler_ext.extender import scoring
from scheduler_ext.extender.verbs import host_priorities
from tests.unit.api.conftest import (
    N0,
    N1,
    copy_of,
    filled_store,
    make_client,
    post,
    recorded_nodes,
    running_pod,
)


@pytest.mark.parametrize(
    ("names", "scores"),
    [([], []), (["a"], [0]), (["a", "b.c", "d-e"], [10, 5, 0]), (["x"] * 11, list(range(11)))],
)
def test_joined_array_is_what_orjson_writes(names: list[str], scores: list[int]) -> None:
    expected = orjson.dumps([{"Host": n, "Score": s} for n, s in zip(names, scores, strict=True)])
    body = host_priorities(names, scores)
    assert orjson.loads(body) == orjson.loads(expected)
    assert json.loads(body) == json.loads(expected)


def _reference(store: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    from scheduler_ext.cluster.convert import pod_from

    pod = pod_from(request["Pod"])
    assert pod is not None
    names = request["NodeNames"]
    scores = scoring.prioritize_nodes(pod.demand(), names, store.room(names))
    return [{"Host": n, "Score": s} for n, s in zip(names, scores, strict=True) if s > 0]


def _busy() -> dict[str, Any]:
    """A pod on n0 after which low-0 (1500m, 128Mi) would leave n0 with 12.5% of its cpu and
    22% of its memory free: score 8."""
    pod = running_pod("busy", N0, cpu="250m")
    pod["spec"]["containers"][0]["resources"]["requests"]["memory"] = "3Gi"
    return pod


def test_scores_equal_the_per_node_rule_with_unknown_and_repeated_nodes() -> None:
    store = filled_store(pods=[_busy()])
    request = copy_of("prioritize.node-cache")
    request["NodeNames"] = [N1, "unknown", N0, N1]
    with make_client(store) as client:
        body = post(client, "prioritize", request).json()
    assert body == _reference(store, request)
    assert body == [{"Host": N0, "Score": 8}]  # the unknown node and n1 score 0: left out


def test_quantities_too_large_for_float64_are_scored_by_the_per_node_loop() -> None:
    n0, n1 = sorted(recorded_nodes(), key=lambda node: str(node["metadata"]["name"]))
    huge = json.loads(json.dumps(n1))
    huge["status"]["allocatable"]["memory"] = "64Pi"  # 2**56 bytes
    store = filled_store(pods=[_busy()])
    store.replace("Node", [n0, huge])
    assert not store.node_columns({"memory": 1}).float_exact
    request = copy_of("prioritize.node-cache")
    with make_client(store) as client:
        body = post(client, "prioritize", request).json()
    assert body == _reference(store, request)
    assert body == [{"Host": N0, "Score": 8}]
