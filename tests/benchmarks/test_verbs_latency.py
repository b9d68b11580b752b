"""The latency benchmark's storm body: the size asked for, every node named apart, parseable."""

from __future__ import annotations

import json

from benchmarks.verbs_latency import _storm_body


def test_storm_body_is_about_the_size_asked_with_distinct_nodes() -> None:
    body = _storm_body(2)
    assert 1.9 * 2**20 <= len(body) <= 2.1 * 2**20
    parsed = json.loads(body)
    names = [node["metadata"]["name"] for node in parsed["Nodes"]["items"]]
    assert len(set(names)) == len(names) > 1
    assert parsed["Pod"]["metadata"]["name"]
