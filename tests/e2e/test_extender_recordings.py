"""Record what the real kube-scheduler sends an extender, and check it against the committed
recordings in tests/data/extender-requests/ (see the README there).

One scheduler is configured with two extenders served by the same recording server:

- ``/cache``: ``nodeCacheCapable: true`` with filter, prioritize, preempt and bind;
- ``/nocache``: ``nodeCacheCapable: false`` with filter, prioritize and preempt (only one extender
  may bind).

Scenario, on two 2-CPU nodes: ``low-0`` (1500m) is scheduled while both nodes are free (filter
and prioritize see two nodes; the cache extender binds it); ``low-1`` (1500m) goes to the other
node; ``high`` (1500m, higher priority) fits nowhere, so default preemption finds a victim on each
node and asks both extenders (preempt), evicts one low pod and binds ``high`` there.

Set ``UPDATE_EXTENDER_RECORDINGS=1`` to overwrite the committed files with this run's bodies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit import builders
from testkit.cluster import KwokCluster
from testkit.kube import Kube, is_running
from testkit.recording import Record, RecordingExtender
from testkit.sandbox import Sandbox
from testkit.shapes import differences, shape
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "extender-requests"
UPDATE_ENV = "UPDATE_EXTENDER_RECORDINGS"
MODES = {"cache": "node-cache", "nocache": "full-nodes"}
#: (extender prefix, verb) -> the pod whose request is kept.
EXPECTED = {
    ("cache", "filter"): "low-0",
    ("cache", "prioritize"): "low-0",
    ("cache", "bind"): "low-0",
    ("cache", "preempt"): "high",
    ("nocache", "filter"): "low-0",
    ("nocache", "prioritize"): "low-0",
    ("nocache", "preempt"): "high",
}


def file_name(prefix: str, verb: str) -> str:
    return f"{verb}.{MODES[prefix]}.json"


def pod_name_of(record: Record) -> str:
    body = record.body
    if record.verb == "bind":
        return str(body["PodName"])
    return str(body["Pod"]["metadata"]["name"])


def first_for(extender: RecordingExtender, prefix: str, verb: str, pod: str) -> Record | None:
    for record in extender.calls(prefix, verb):
        if pod_name_of(record) == pod:
            return record
    return None


@pytest.fixture(scope="module")
def recording_cluster(
    cluster_factory: ClusterFactory,
) -> Iterator[tuple[RecordingExtender, KwokCluster]]:
    """The recording extender and a cluster whose scheduler calls it under both prefixes."""
    with RecordingExtender() as ext:
        config = builders.scheduler_config(
            extenders=[
                builders.extender(ext.url("cache"), bind_verb="bind", node_cache_capable=True),
                builders.extender(ext.url("nocache"), node_cache_capable=False),
            ]
        )
        cluster = cluster_factory(config, prefix="record")
        try:
            ext.set_kube(Kube(cluster.api_client()))
            yield ext, cluster
        finally:
            cluster_factory.delete(cluster)


@pytest.fixture(scope="module")
def recording_run(
    recording_cluster: tuple[RecordingExtender, KwokCluster],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], Record]:
    """Run the scenario; return the kept record per (prefix, verb) and write the bodies into a
    temporary directory (or over the committed files when updating).

    The cluster belongs to ``recording_cluster``, so a failing scenario still finds it alive and
    its component logs go into the report."""
    ext, cluster = recording_cluster
    with Kube(cluster.api_client()) as kube:
        kept = _scenario(kube, ext)
    updating = os.environ.get(UPDATE_ENV) == "1"
    out_dir = RECORDINGS if updating else tmp_path_factory.mktemp("extender-requests")
    out_dir.mkdir(parents=True, exist_ok=True)
    for (prefix, verb), record in kept.items():
        (out_dir / file_name(prefix, verb)).write_text(json.dumps(record.body, indent=2) + "\n")
    return kept


def _scenario(kube: Kube, ext: RecordingExtender) -> dict[tuple[str, str], Record]:
    box = Sandbox(kube, prefix="record")
    try:
        box.nodes(2, cpu="2", memory="4Gi")
        low = box.priority_class("low", 100)
        high = box.priority_class("high", 1000)

        def make(name: str, priority_class: str) -> None:
            kube.create(
                builders.pod(
                    name,
                    namespace=box.namespace,
                    requests={"cpu": "1500m", "memory": "128Mi"},
                    priority_class_name=priority_class,
                    node_selector=box.node_selector,
                )
            )

        make("low-0", low)
        kube.wait_pod("low-0", box.namespace, is_running, description="Running")
        make("low-1", low)
        kube.wait_pod("low-1", box.namespace, is_running, description="Running")
        make("high", high)
        winner = kube.wait_pod("high", box.namespace, is_running, description="Running")
        assert winner.spec.node_name in box.node_names

        def kept_records() -> dict[tuple[str, str], Record | None]:
            return {key: first_for(ext, key[0], key[1], pod) for key, pod in EXPECTED.items()}

        found = wait_for(
            kept_records,
            lambda recs: all(r is not None for r in recs.values()),
            description="one recorded request per extender and verb",
            timeout=10,
            describe=lambda recs: sorted(k for k, r in recs.items() if r is None),
        )
        assert not ext.errors, ext.errors
        return {k: r for k, r in found.items() if r is not None}
    finally:
        box.cleanup()


def test_scheduler_requests_match_committed_recordings(
    recording_run: dict[tuple[str, str], Record],
) -> None:
    problems: list[str] = []
    for (prefix, verb), record in sorted(recording_run.items()):
        committed_path = RECORDINGS / file_name(prefix, verb)
        if not committed_path.exists():
            problems.append(f"{committed_path.name}: not committed (run with {UPDATE_ENV}=1)")
            continue
        committed = json.loads(committed_path.read_text())
        for diff in differences(shape(committed), shape(record.body)):
            problems.append(f"{committed_path.name}: {diff}")
    assert not problems, "\n".join(problems)


def test_recorded_bodies_follow_the_wire_protocol(
    recording_run: dict[tuple[str, str], Record],
) -> None:
    """The facts the extender relies on, checked on the live bodies (not only their shapes)."""
    body: dict[str, Any]

    # nodeCacheCapable: names only, Go field names as keys, no JSON tags.
    body = recording_run["cache", "filter"].body
    assert set(body) == {"Pod", "Nodes", "NodeNames"}
    assert body["Nodes"] is None
    assert len(body["NodeNames"]) == 2
    assert body["Pod"]["metadata"]["name"] == "low-0"
    nodes = set(body["NodeNames"])

    # Not nodeCacheCapable: full Node objects, NodeNames null.
    body = recording_run["nocache", "filter"].body
    assert body["NodeNames"] is None
    assert {n["metadata"]["name"] for n in body["Nodes"]["items"]} == nodes

    # Prioritize gets the same ExtenderArgs as filter.
    assert set(recording_run["cache", "prioritize"].body) == {"Pod", "Nodes", "NodeNames"}
    assert set(recording_run["cache", "prioritize"].body["NodeNames"]) == nodes

    body = recording_run["cache", "bind"].body
    assert set(body) == {"PodName", "PodNamespace", "PodUID", "Node"}
    assert body["Node"] in nodes

    # Preempt: one candidate per node, each with its one low-priority victim.
    body = recording_run["cache", "preempt"].body
    assert body["NodeNameToVictims"] is None
    assert set(body["NodeNameToMetaVictims"]) == nodes
    for victims in body["NodeNameToMetaVictims"].values():
        assert [set(p) for p in victims["Pods"]] == [{"UID"}]
        assert victims["NumPDBViolations"] == 0

    body = recording_run["nocache", "preempt"].body
    assert body["NodeNameToMetaVictims"] is None
    assert set(body["NodeNameToVictims"]) == nodes
    victim_names = sorted(
        p["metadata"]["name"]
        for victims in body["NodeNameToVictims"].values()
        for p in victims["Pods"]
    )
    assert victim_names == ["low-0", "low-1"]
