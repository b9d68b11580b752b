"""One list+watch loop per kind, in a thread, keeping the store in step with the API server.

The loop is client-go's reflector, reduced to what the service needs:

1. **List** every object and replace the store's copy of the kind; remember the list's
   resourceVersion. The first successful list marks the kind synced.
2. **Watch** from that resourceVersion; apply each event and move the resourceVersion forward
   (BOOKMARK events move it without a change). When the server ends the watch (its timeout), watch
   again from where it stopped: nothing is lost or listed twice.
3. **410 Gone** (the server compacted past our resourceVersion): list again, then watch.
4. **Any other failure** (API server restarting, connection reset, 5xx): wait with exponential
   backoff and full jitter, then resume the watch from the last resourceVersion, or relist if
   there is none. A watch that delivered events resets the backoff.

Every restart other than a normal watch timeout is counted through ``on_restart(kind)`` (the
``scheduler_ext_watch_restarts_total`` metric). ``stop`` ends the loop within one watch timeout at
worst; the threads are daemons, so a stuck connection never keeps the process alive.

Hand-written because ``kubernetes.watch.Watch.stream`` cannot resume a raw stream (read in
kubernetes 37.0.2): with ``deserialize=False`` (raw dicts, no generated models) it never moves
its resourceVersion forward, so its reconnect replays from the first version, and an ERROR event
raises ``KeyError('raw_object')``; with models it pays the per-event model build the raw path
avoids (``cluster/client.py``); a ``timeout_seconds`` turns its resume off, and a 410 is retried
once from the same expired version instead of by listing again.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from scheduler_ext.errors import SchedulerExtError, WatchExpired

logger = logging.getLogger(__name__)


QUICK_CLOSE_SECONDS = 1.0
OPENED = "OPENED"
"""A watch source may yield ``(OPENED, {})`` once the server has answered the watch request:
contact, before any event (a quiet kind may see no event for minutes)."""


@runtime_checkable
class WatchSource(Protocol):
    def list_objects(self, kind: str) -> tuple[list[Mapping[str, Any]], str]: ...

    def watch(
        self, kind: str, resource_version: str, timeout: int
    ) -> Iterator[tuple[str, Mapping[str, Any]]]: ...


class StateSink(Protocol):
    """What an informer feeds: ``ClusterStore`` (the kinds the planner reads) or ``PlanStore``
    (the service's PackingPlans)."""

    def note_contact(self, kind: str) -> None: ...

    def replace(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None: ...

    def apply(self, kind: str, event: str, obj: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.2
    maximum: float = 10.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Full jitter: uniform in [initial/2, min(maximum, initial * 2**(failures-1))]."""
        ceiling = min(self.maximum, self.initial * 2 ** max(0, failures - 1))
        return rng.uniform(min(self.initial / 2, ceiling), ceiling)


class Informer:
    def __init__(
        self,
        kind: str,
        source: WatchSource,
        store: StateSink,
        stop: threading.Event,
        *,
        watch_timeout: int = 300,
        backoff: Backoff = Backoff(),
        on_restart: Callable[[str], None] = lambda kind: None,
        on_event: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self.kind = kind
        self._source = source
        self._store = store
        self._stop = stop
        self._timeout = watch_timeout
        self._backoff = backoff
        self._on_restart = on_restart
        self._on_event = on_event
        self._rng = random.Random()
        self.version = ""
        self.thread = threading.Thread(target=self.run, name=f"informer-{kind}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _list(self) -> None:
        items, version = self._source.list_objects(self.kind)
        self._store.note_contact(self.kind)
        self._store.replace(self.kind, items)
        # The listed objects live long and form no cycles: keep the cyclic collector from
        # rescanning them (a full collection over 50,000 pods takes ~100 ms, which would land on
        # some verb call's latency). Refcounting still frees them when they are replaced.
        gc.freeze()
        self.version = version
        logger.info("listed %d %s objects at resourceVersion %s", len(items), self.kind, version)

    def _watch(self) -> int:
        """One watch request; returns how many events it delivered."""
        count = 0
        for event, obj in self._source.watch(self.kind, self.version, self._timeout):
            self._store.note_contact(self.kind)
            if event == OPENED:
                continue
            if event != "BOOKMARK":
                self._store.apply(self.kind, event, obj)
                self._on_event(self.kind)
                count += 1
            meta = obj.get("metadata")
            version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
            if isinstance(version, str) and version:
                self.version = version
            if self._stop.is_set():
                break
        return count

    def run(self) -> None:
        failures = 0
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list or not self.version:
                    self._list()
                    need_list = False
                started = time.monotonic()
                if self._watch() > 0:
                    failures = 0
                elif time.monotonic() - started < QUICK_CLOSE_SECONDS:
                    self._stop.wait(self._backoff.initial)  # closed at once: do not spin
                continue  # the server closed the watch at its timeout: resume
            except WatchExpired as exc:
                logger.info("%s; listing again", exc)
                need_list = True
                failures = 0
            except SchedulerExtError as exc:
                failures += 1
                logger.warning("%s (attempt %d)", exc, failures)
            except Exception:  # a bug must not end the loop silently
                failures += 1
                logger.exception("%s informer failed (attempt %d)", self.kind, failures)
            self._on_restart(self.kind)
            if failures:
                self._stop.wait(self._backoff.delay(failures, self._rng))


def start_informers(
    source: WatchSource,
    store: StateSink,
    kinds: Sequence[str],
    stop: threading.Event,
    *,
    watch_timeout: int = 300,
    backoff: Backoff = Backoff(),
    on_restart: Callable[[str], None] = lambda kind: None,
    on_event: Callable[[str], None] = lambda kind: None,
) -> list[Informer]:
    informers = [
        Informer(
            kind,
            source,
            store,
            stop,
            watch_timeout=watch_timeout,
            backoff=backoff,
            on_restart=on_restart,
            on_event=on_event,
        )
        for kind in kinds
    ]
    for informer in informers:
        informer.start()
    return informers
