"""Leader election on a ``coordination.k8s.io/v1`` Lease: one replica plans (and executes).

Every replica serves the verbs and the plans API from shared state; only the Lease holder plans,
so two replicas never act on the cluster at once. The semantics are client-go's
(``tools/leaderelection/leaderelection.go``), with its defaults (kube-scheduler's: 15 s, 10 s, 2 s):

- **acquire**: every ``retry_period`` (plus up to 1.2 times it of jitter), read the Lease. Take it
  if it does not exist (create), if it has no holder (released), or if its record has not
  changed for ``leaseDurationSeconds`` *as observed on this replica's own clock* (the time the
  record was last seen to change, never the holder's ``renewTime``: clocks of two machines may
  disagree). Taking it is a PUT carrying the read resourceVersion, so of two replicas trying at
  once, one gets 409 and stays a follower.
- **renew**: every ``retry_period``, the holder writes ``renewTime``; a renewal that has not
  succeeded within ``renew_deadline`` (retrying every ``retry_period``) ends the leadership.
- **release** on stop: the holder empties ``holderIdentity`` (client-go's ``ReleaseOnCancel``),
  so that another replica takes over at its next retry instead of a lease duration later.

``is_leader`` also checks the clock: it turns false once ``lease_duration`` has passed since the
last successful renewal began, even while a renewal request hangs, since by then another replica
may hold the Lease (execution-notes.md §6: stop writing the moment renewal fails). ``on_started``
and ``on_stopped`` run in the elector's thread on each change; they must return quickly.

MicroTime fields (``acquireTime``, ``renewTime``) are written as ``%Y-%m-%dT%H:%M:%S.%fZ``, the
API server's layout (six fractional digits, always).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from scheduler_ext.errors import SchedulerExtError

logger = logging.getLogger(__name__)

JITTER_FACTOR = 1.2
"""client-go's ``JitterFactor`` for the acquire loop."""


class LeaseClient(Protocol):
    """The Lease calls (``cluster/client.py`` ``KubeClient``); raw JSON objects."""

    def read_lease(self, name: str, timeout: float) -> Mapping[str, Any] | None: ...

    def create_lease(self, body: Mapping[str, Any], timeout: float) -> Mapping[str, Any]: ...

    def replace_lease(self, body: Mapping[str, Any], timeout: float) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class LeaseTimes:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > JITTER_FACTOR * self.retry_period > 0:
            raise ValueError(
                "need lease duration > renew deadline > 1.2 x retry period > 0, got "
                f"{self.lease_duration}, {self.renew_deadline}, {self.retry_period}"
            )


def micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        client: LeaseClient,
        *,
        name: str,
        identity: str,
        times: LeaseTimes = LeaseTimes(),
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.identity = identity
        self.times = times
        self._client = client
        self._on_started = on_started
        self._on_stopped = on_stopped
        self._clock = clock
        self._now = now
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._leading = False
        self._renewed_at = float("-inf")
        """When the last successful acquisition or renewal was sent (this replica's clock)."""
        self._observed: Mapping[str, Any] | None = None
        self._observed_at = float("-inf")
        self._thread = threading.Thread(target=self.run, name="leader-election", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self._leading and self._clock() - self._renewed_at < self.times.lease_duration

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop trying; release the Lease if this replica holds it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._acquire():
                    return
                self._set_leading(True)
                self._renew_until_lost()
                self._set_leading(False)
        finally:
            if self._holding_record():
                self._release()

    def _acquire(self) -> bool:
        """Try until the Lease is ours (True) or the elector is stopped (False)."""
        period = self.times.retry_period
        while not self._stop.is_set():
            if self.try_acquire_or_renew(self.times.renew_deadline):
                return True
            if self._stop.wait(period + self._rng.random() * JITTER_FACTOR * period):
                return False
        return False

    def _renew_until_lost(self) -> None:
        period = self.times.retry_period
        while not self._stop.wait(period):
            deadline = self._clock() + self.times.renew_deadline
            while not self.try_acquire_or_renew(max(0.5, deadline - self._clock())):
                if self._clock() + period >= deadline or self._stop.wait(period):
                    if not self._stop.is_set():
                        logger.warning(
                            "lost the lease %s: not renewed within %ss",
                            self.name,
                            self.times.renew_deadline,
                        )
                    return

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        logger.info(
            "%s the lease %s as %s",
            "holding" if leading else "no longer holding",
            self.name,
            self.identity,
        )
        callback = self._on_started if leading else self._on_stopped
        try:
            callback()
        except Exception:  # a callback's bug must not end the election
            logger.exception("leadership callback failed")

    # --- one attempt -----------------------------------------------------------------------------

    def _record(self, holder: str, previous: Mapping[str, Any] | None) -> dict[str, Any]:
        now = micro_time(self._now())
        spec: dict[str, Any] = dict(previous or {})
        transitions = int(spec.get("leaseTransitions") or 0)
        if spec.get("holderIdentity") != holder:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = transitions + (1 if previous is not None else 0)
        spec.update(
            holderIdentity=holder,
            leaseDurationSeconds=max(1, round(self.times.lease_duration)),
            renewTime=now,
        )
        spec.setdefault("acquireTime", now)
        spec.setdefault("leaseTransitions", 0)
        return spec

    def _observe(self, spec: Mapping[str, Any]) -> None:
        if spec != self._observed:
            self._observed = dict(spec)
            self._observed_at = self._clock()

    def try_acquire_or_renew(self, timeout: float) -> bool:
        """One attempt (client-go's ``tryAcquireOrRenew``): True if the Lease is ours now."""
        started = self._clock()
        try:
            lease = self._client.read_lease(self.name, timeout)
            if lease is None:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name},
                    "spec": self._record(self.identity, None),
                }
                created = self._client.create_lease(body, timeout)
                self._observe(created.get("spec") or {})
                self._renewed_at = started
                return True
            spec = lease.get("spec") or {}
            self._observe(spec)
            holder = spec.get("holderIdentity") or ""
            duration = float(spec.get("leaseDurationSeconds") or self.times.lease_duration)
            if holder and holder != self.identity and self._observed_at + duration > started:
                return False  # held by another replica, and renewed within its duration
            body = {**lease, "spec": self._record(self.identity, spec)}
            replaced = self._client.replace_lease(body, timeout)
        except SchedulerExtError as exc:
            logger.debug("lease %s: %s", self.name, exc)
            return False
        self._observe(replaced.get("spec") or {})
        self._renewed_at = started
        return True

    def _holding_record(self) -> bool:
        return (self._observed or {}).get("holderIdentity") == self.identity

    def _release(self) -> None:
        """Empty the holder, if the Lease is still ours (client-go's ``release``)."""
        timeout = self.times.retry_period
        try:
            lease = self._client.read_lease(self.name, timeout)
            spec = (lease or {}).get("spec") or {}
            if lease is None or spec.get("holderIdentity") != self.identity:
                return
            now = micro_time(self._now())
            record = {
                **spec,
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "acquireTime": now,
                "renewTime": now,
            }
            self._client.replace_lease({**lease, "spec": record}, timeout)
            logger.info("released the lease %s", self.name)
        except SchedulerExtError as exc:
            logger.warning("could not release the lease %s: %s", self.name, exc)
        finally:
            was_leading = self._leading
            self._leading = False
            if was_leading:
                self._on_stopped()
