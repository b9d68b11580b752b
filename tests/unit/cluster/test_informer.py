"""The list+watch loop: resumes from resourceVersion, relists on 410 Gone, backs off on errors."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from scheduler_ext.cluster.informer import Backoff, Informer
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.errors import ClusterReadError, WatchExpired
from testkit.builders import api_node
from testkit.wait import wait_for

WAIT_SECONDS = 60.0
"""How long the informer's thread may take to play its script and to stop: its steps take
milliseconds, but on a loaded machine a thread may wait seconds for a core."""


def node(name: str, version: str) -> dict[str, Any]:
    return api_node(
        name, ready=None, resource_version=version, allocatable={"cpu": "1", "pods": "10"}
    )


class Script:
    """A fake API server: each watch call plays the next scripted step."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.lists = 0
        self.watched_from: list[str] = []
        self.done = threading.Event()
        self.objects = [node("n1", "10")]

    def list_objects(self, kind: str) -> tuple[list[Mapping[str, Any]], str]:
        self.lists += 1
        return list(self.objects), str(10 * self.lists)

    def watch(
        self, kind: str, resource_version: str, timeout: int
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        self.watched_from.append(resource_version)
        if not self.steps:
            self.done.set()
            return
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        yield from step


def run(
    script: Script, events: list[str] | None = None
) -> tuple[ClusterStore, list[str], Informer]:
    store = ClusterStore()
    stop = threading.Event()
    restarts: list[str] = []
    informer = Informer(
        "Node",
        script,
        store,
        stop,
        backoff=Backoff(initial=0.001, maximum=0.002),
        on_restart=restarts.append,
        on_event=(events if events is not None else []).append,
    )
    informer.start()
    assert script.done.wait(WAIT_SECONDS)
    stop.set()
    informer.thread.join(WAIT_SECONDS)
    assert not informer.thread.is_alive()
    return store, restarts, informer


def test_events_apply_and_watches_resume_from_the_last_version() -> None:
    script = Script(
        [
            [("ADDED", node("n2", "11")), ("BOOKMARK", {"metadata": {"resourceVersion": "15"}})],
            [("DELETED", node("n1", "16"))],
        ]
    )
    events: list[str] = []
    store, restarts, _ = run(script, events)
    assert script.lists == 1
    assert script.watched_from[:3] == ["10", "15", "16"]
    assert [room is None for room in store.room(["n1", "n2"])] == [True, False]
    assert restarts == []
    assert events == ["Node", "Node"]  # ADDED and DELETED; a bookmark is no event


def test_410_gone_relists_and_errors_back_off_then_resume() -> None:
    script = Script(
        [
            ClusterReadError("watching Node: connection refused"),
            [("ADDED", node("n3", "12"))],
            WatchExpired("watching Node: too old resource version"),
        ]
    )
    script.objects = [node("n1", "10"), node("n4", "19")]
    store, restarts, _ = run(script)
    assert script.lists == 2  # the first list, then the relist after 410
    assert script.watched_from[:4] == ["10", "10", "12", "20"]
    assert restarts == ["Node", "Node"]
    # the relist replaced the state: n3 (only seen in a watch) is gone, n4 is there
    assert [room is not None for room in store.room(["n1", "n3", "n4"])] == [True, False, True]
    assert store.synced is False  # only one kind listed here


def test_a_failing_list_is_retried() -> None:
    class FlakyList(Script):
        def list_objects(self, kind: str) -> tuple[list[Mapping[str, Any]], str]:
            if self.lists == 0:
                self.lists += 1
                raise ClusterReadError("listing Node: 503")
            return super().list_objects(kind)

    script = FlakyList([])
    store, restarts, _ = run(script)
    assert restarts == ["Node"]
    wait_for(lambda: store.room(["n1"]), lambda rooms: rooms[0] is not None, description="n1")


def test_backoff_grows_with_jitter_up_to_the_maximum() -> None:
    backoff = Backoff(initial=0.2, maximum=10)
    rng = random.Random(1)
    delays = [backoff.delay(failures, rng) for failures in range(1, 12)]
    assert all(0.1 <= delay <= 10 for delay in delays)
    assert max(delays[-3:]) > 2  # it grew
    assert backoff.delay(1, rng) <= 0.2


def test_lists_openings_bookmarks_and_events_are_contact() -> None:
    class Recorder(ClusterStore):
        def __init__(self) -> None:
            super().__init__()
            self.contacts = 0

        def note_contact(self, kind: str) -> None:
            self.contacts += 1

    script = Script(
        [[("OPENED", {}), ("BOOKMARK", {"metadata": {"resourceVersion": "15"}})], [("OPENED", {})]]
    )
    store = Recorder()
    stop = threading.Event()
    informer = Informer("Node", script, store, stop, backoff=Backoff(initial=0.001, maximum=0.002))
    informer.start()
    assert script.done.wait(WAIT_SECONDS)
    stop.set()
    informer.thread.join(WAIT_SECONDS)
    assert store.contacts >= 4  # the list, two openings, the bookmark
    assert [room is None for room in store.room(["n1"])] == [False]  # OPENED changed nothing
