"""Request bodies: the hand-checked fast path and the model path agree, bad bodies get one line."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from scheduler_ext.extender.bodies import BadBody, extender_args
from testkit.builders import api_pod


def pod(name: str, node_name: str | None) -> dict[str, Any]:
    return api_pod(
        name, namespace="ns", uid=f"uid-{name}", node_name=node_name, requests={"cpu": "500m"}
    )


def test_usual_body_and_model_path_read_the_same_names() -> None:
    usual = extender_args(orjson.dumps({"Pod": pod("a", None), "NodeNames": ["n1", "n2"]}))
    folded = extender_args(orjson.dumps({"pod": pod("a", None), "nodenames": ["n1", "n2"]}))
    full = extender_args(
        orjson.dumps({"Pod": pod("a", None), "Nodes": {"items": [{"metadata": {"name": "n1"}}]}})
    )
    assert usual.names == folded.names == ["n1", "n2"]
    assert usual.nodes is None
    assert full.names == ["n1"]
    assert full.nodes == [{"metadata": {"name": "n1"}}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body: a JSON object is required"),
        (b"{", "invalid JSON"),
        (b'{"Pod": {}}', "one of NodeNames (nodeCacheCapable: true) or Nodes is required"),
        (b'{"Pod": {}, "Nodes": {"items": [{}]}}', "Nodes.items[0].metadata.name: required"),
        (b'{"NodeNames": []}', "Pod: Field required"),
    ],
)
def test_bad_bodies_name_the_problem_in_one_line(body: bytes, message: str) -> None:
    with pytest.raises(BadBody) as caught:
        extender_args(body)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
