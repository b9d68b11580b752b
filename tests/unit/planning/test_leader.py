"""Leader election against a fake Lease API with compare-and-swap, on a fake clock: one holder at
a time, take-over only after a lease duration without change seen on the follower's own clock,
renewal deadline, release on stop, and MicroTime as the API server parses it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from scheduler_ext.errors import WriteConflict
from scheduler_ext.planning.leader import LeaderElector, LeaseTimes, micro_time
from testkit.wait import wait_for
from tests.unit.planning.fakes import FakeLeases

TIMES = LeaseTimes(lease_duration=15, renew_deadline=10, retry_period=2)
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _elector(api: FakeLeases, identity: str, clock: Clock) -> LeaderElector:
    return LeaderElector(api, name="lease", identity=identity, times=TIMES, clock=clock)


def test_the_first_replica_creates_the_lease_and_the_second_waits() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = _elector(api, "a", clock), _elector(api, "b", clock)
    assert a.try_acquire_or_renew(1)
    assert not b.try_acquire_or_renew(1)
    spec = api.leases["lease"]["spec"]
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert MICRO_TIME.match(spec["renewTime"])
    assert MICRO_TIME.match(spec["acquireTime"])


def test_a_follower_takes_over_only_after_a_lease_duration_without_renewal() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = _elector(api, "a", clock), _elector(api, "b", clock)
    assert a.try_acquire_or_renew(1)
    assert not b.try_acquire_or_renew(1)  # b sees the record now
    clock.now += 14
    assert a.try_acquire_or_renew(1)  # renewed: the record changed
    clock.now += 14
    assert not b.try_acquire_or_renew(1)  # b sees the change only now: it counts from here
    clock.now += 14
    assert not b.try_acquire_or_renew(1)  # 14 s since b saw it change
    clock.now += 2
    assert b.try_acquire_or_renew(1)  # 16 s without change: expired
    assert api.holder() == "b"
    assert api.leases["lease"]["spec"]["leaseTransitions"] == 1
    assert not a.try_acquire_or_renew(1)  # a sees b's fresh record


def test_a_lost_compare_and_swap_leaves_one_holder() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = _elector(api, "a", clock), _elector(api, "b", clock)
    assert a.try_acquire_or_renew(1)
    a.stop()  # not started: nothing to stop; the Lease stays a's
    stale = api.read_lease("lease", 1)
    assert a.try_acquire_or_renew(1)  # moves the resourceVersion on
    assert stale is not None
    with pytest.raises(WriteConflict):
        api.replace_lease({**stale, "spec": {**stale["spec"], "holderIdentity": "b"}}, 1)
    assert api.holder() == "a"
    assert not b.try_acquire_or_renew(1)


def test_is_leader_turns_false_when_renewals_stop_succeeding() -> None:
    api, clock = FakeLeases(), Clock()
    seen: list[str] = []
    elector = LeaderElector(
        api,
        name="lease",
        identity="a",
        times=LeaseTimes(lease_duration=15, renew_deadline=10, retry_period=2),
        on_started=lambda: seen.append("started"),
        on_stopped=lambda: seen.append("stopped"),
        clock=clock,
    )
    assert elector.try_acquire_or_renew(1)
    elector._set_leading(True)
    assert elector.is_leader
    api.down = True
    assert not elector.try_acquire_or_renew(1)
    clock.now += 14.9
    assert elector.is_leader
    clock.now += 0.2  # a lease duration since the last renewal began: another may hold it
    assert not elector.is_leader
    elector._set_leading(False)
    assert seen == ["started", "stopped"]


def test_a_running_elector_leads_and_releases_the_lease_on_stop() -> None:
    api = FakeLeases()
    fast = LeaseTimes(lease_duration=3, renew_deadline=2, retry_period=0.1)
    a = LeaderElector(api, name="lease", identity="a", times=fast)
    b = LeaderElector(api, name="lease", identity="b", times=fast)
    a.start()
    wait_for(lambda: a.is_leader, bool, description="a leads")
    b.start()
    try:
        assert not b.is_leader
        a.stop()
        assert not a.is_leader
        # Released (holder emptied), so b takes it at its next try, not a lease duration later.
        wait_for(lambda: b.is_leader, bool, description="b leads after a released the Lease")
        assert api.holder() == "b"
    finally:
        b.stop()
    assert api.holder() == ""


def test_micro_time_always_has_six_fractional_digits() -> None:
    assert micro_time(datetime(2026, 12, 1, 11, 0, 0, 0, tzinfo=UTC)) == (
        "2026-12-01T11:00:00.000000Z"
    )


@pytest.mark.parametrize(("duration", "deadline", "retry"), [(10, 10, 2), (15, 10, 9), (3, 2, 0)])
def test_times_out_of_order_are_refused(duration: float, deadline: float, retry: float) -> None:
    with pytest.raises(ValueError, match="lease duration > renew deadline"):
        LeaseTimes(duration, deadline, retry)
