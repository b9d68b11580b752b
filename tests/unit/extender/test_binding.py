"""The bind verb binds only what kube-scheduler could legitimately ask: every other request is
refused with one line, and nothing is sent to the API server for it."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender.binding import BindOutcome, BindRequest, already_bound_to, bind_pod
from scheduler_ext.names import SHOWN_MAX
from testkit.builders import api_node, api_pod

SERVED = ("default-scheduler",)


class Binder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        self.calls.append((namespace, name, uid, node))


def store_with(*pods: dict[str, Any]) -> ClusterStore:
    store = ClusterStore()
    for kind in KINDS:
        store.replace(kind, [])
    store.replace("Node", [api_node("n1", allocatable={"cpu": "4", "pods": "10"})])
    store.replace("Pod", list(pods))
    return store


def pending(name: str = "p", **spec: Any) -> dict[str, Any]:
    return api_pod(name, namespace="ns", uid=f"uid-{name}", requests={"cpu": "1"}, spec=spec)


def test_a_legitimate_bind_is_sent_and_counted() -> None:
    store, binder = store_with(pending()), Binder()
    request = BindRequest("ns", "p", "uid-p", "n1")
    outcome = bind_pod(binder, store, request, schedulers=SERVED, wait=0)
    assert (outcome.error, outcome.refused) == ("", False)
    assert binder.calls == [("ns", "p", "uid-p", "n1")]
    assert store.assumed() == {"ns/p": "n1"}


@pytest.mark.parametrize(
    ("request_", "pods", "reason"),
    [
        (BindRequest("ns", "p", "", "n1"), [pending()], "PodUID is required"),
        (BindRequest("ns", "p", "other", "n1"), [pending()], "has another UID"),
        (BindRequest("ns", "p", "uid-p", "n9"), [pending()], "node n9 is not known"),
        (BindRequest("ns", "q", "uid-q", "n1"), [pending()], "pod ns/q is not known"),
        (
            BindRequest("ns", "p", "uid-p", "n1"),
            [pending(schedulerName="other-scheduler")],
            "scheduled by 'other-scheduler', not by a scheduler this service serves",
        ),
        (
            BindRequest("ns", "p", "uid-p", "n1"),
            [api_pod("p", namespace="ns", uid="uid-p", node_name="n1")],
            "already bound to n1",
        ),
        (
            BindRequest("ns", "p", "uid-p", "n1"),
            [api_pod("p", namespace="ns", uid="uid-p", metadata={"deletionTimestamp": "t"})],
            "terminating",
        ),
        (BindRequest("NS", "p", "uid-p", "n1"), [pending()], "not a valid namespace name"),
        (BindRequest("ns", "p\nforged", "u", "n1"), [pending()], "not a valid pod name"),
        (BindRequest("ns", "p", "uid-p", "n1 "), [pending()], "not a valid node name"),
    ],
)
def test_other_binds_are_refused_and_nothing_is_sent(
    request_: BindRequest, pods: list[dict[str, Any]], reason: str
) -> None:
    store, binder = store_with(*pods), Binder()
    outcome = bind_pod(binder, store, request_, schedulers=SERVED, wait=0)
    assert outcome.refused
    assert reason in outcome.error
    assert "\n" not in outcome.error
    assert binder.calls == []
    assert store.assumed() == {}


def test_a_huge_name_is_refused_in_a_short_line() -> None:
    store, binder = store_with(pending()), Binder()
    huge = "x" * 50_000_000
    outcome = bind_pod(binder, store, BindRequest("ns", huge, "u", "n1"), schedulers=SERVED, wait=0)
    assert outcome.refused
    assert len(outcome.error) < SHOWN_MAX + 200
    assert binder.calls == []


def test_a_bind_waits_for_the_watch_to_show_the_pod() -> None:
    import threading

    store, binder = store_with(), Binder()
    threading.Timer(0.2, store.apply, ("Pod", "ADDED", pending())).start()
    request = BindRequest("ns", "p", "uid-p", "n1")
    outcome = bind_pod(binder, store, request, schedulers=SERVED, wait=5)
    assert outcome.error == ""
    assert binder.calls == [("ns", "p", "uid-p", "n1")]


CONFLICT = (
    'binding ns/p to {asked}: 409 Conflict: Operation cannot be fulfilled on pods/binding "p": '
    'pod p is already assigned to node "{bound}"'
)


class Raced(Binder):
    """The API server's answer when another binder (the plan executor) was first."""

    def __init__(self, bound: str) -> None:
        super().__init__()
        self.bound = bound

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        from scheduler_ext.errors import BindError

        raise BindError(CONFLICT.format(asked=node, bound=self.bound))


def test_a_pod_already_bound_to_the_asked_node_is_a_success() -> None:
    outcome = bind_pod(
        Raced("n1"), store_with(pending()), BindRequest("ns", "p", "uid-p", "n1"),
        schedulers=SERVED, wait=0,
    )  # fmt: skip
    assert (outcome.error, outcome.conflict) == ("", False)


def test_a_pod_already_bound_elsewhere_is_a_conflict_that_says_where() -> None:
    outcome = bind_pod(
        Raced("n2"), store_with(pending()), BindRequest("ns", "p", "uid-p", "n1"),
        schedulers=SERVED, wait=0,
    )  # fmt: skip
    assert outcome.conflict
    assert outcome.error == "scheduler-ext: pod ns/p is already bound to n2"


def test_other_conflicts_are_plain_failures() -> None:
    assert already_bound_to("binding ns/p to n1: 409 Conflict: Precondition failed: UID") is None
    assert already_bound_to(CONFLICT.format(asked="n1", bound="n-3")) == "n-3"


def test_a_bind_onto_room_the_executor_just_took_is_refused() -> None:
    """The e2e overcommit: the plan executor binds two pods through the API (assumed here), and
    kube-scheduler, whose cache has not seen those binds yet, asks to bind a third onto the same
    node (room for two): refused, nothing sent."""
    store, binder = store_with(*(pending_cpu(n, "1500m") for n in ("a", "b", "c"))), Binder()
    for name in ("a", "b"):
        pod = store.pod(f"ns/{name}")
        assert pod is not None
        store.assume(pod, "n1")  # as the executor does after its own bind: 3 of 4 cpu taken
    outcome = bind_pod(
        binder, store, BindRequest("ns", "c", "uid-c", "n1"), schedulers=SERVED, wait=0
    )
    assert outcome.refused
    assert "does not fit n1 now: Insufficient cpu" in outcome.error
    assert binder.calls == []


def pending_cpu(name: str, cpu: str) -> dict[str, Any]:
    return api_pod(name, namespace="ns", uid=f"uid-{name}", requests={"cpu": cpu})


def test_room_held_for_another_pod_is_not_bound_onto() -> None:
    from scheduler_ext.cluster.reservations import Reservation, demand_items

    store, binder = store_with(pending_cpu("p", "2"), pending_cpu("q", "3")), Binder()
    store.reserve([Reservation("plan-1", "n1", demand_items({"cpu": 2000, "pods": 1}), "uid-p")])
    outcome = bind_pod(
        binder, store, BindRequest("ns", "q", "uid-q", "n1"), schedulers=SERVED, wait=0
    )
    assert outcome.refused
    assert "Insufficient cpu" in outcome.error  # 4 - 2 held < 3
    outcome = bind_pod(
        binder, store, BindRequest("ns", "p", "uid-p", "n1"), schedulers=SERVED, wait=0
    )
    assert outcome.error == ""  # the pod it is held for
    assert binder.calls == [("ns", "p", "uid-p", "n1")]


def test_a_pod_the_executor_bound_there_first_is_left_to_the_api_server() -> None:
    store = store_with(pending_cpu("p", "3"))
    pod = store.pod("ns/p")
    assert pod is not None
    store.assume(pod, "n1")  # counted on n1: its own charge must not refuse it
    outcome = bind_pod(
        Raced("n1"), store, BindRequest("ns", "p", "uid-p", "n1"), schedulers=SERVED, wait=0
    )
    assert (outcome.error, outcome.refused) == ("", False)


def test_a_pod_room_is_held_for_is_bound_only_where_it_is_held() -> None:
    """kube-scheduler filters its next pod before its last bind reaches the service: two
    replacements of one ReplicaSet both passed the node of a single held room (the 32x8 e2e
    run, rs-050 on i0-node-31). When the second asks, the room left for it is on another node."""
    from scheduler_ext.cluster.reservations import Reservation, demand_items

    store, binder = store_with(pending_cpu("p", "1")), Binder()
    store.apply("Node", "ADDED", api_node("n2", allocatable={"cpu": "4", "pods": "10"}))
    store.reserve([Reservation("plan-1", "n2", demand_items({"cpu": 1000, "pods": 1}), "uid-p")])
    request = BindRequest("ns", "p", "uid-p", "n1")
    outcome = bind_pod(binder, store, request, schedulers=SERVED, wait=0)
    assert outcome.refused
    assert "room held for it on n2, not on n1" in outcome.error
    assert binder.calls == []


class Slow(Binder):
    """An API server that takes its time: a second bind arrives while the first is in flight."""

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        import time

        time.sleep(0.2)
        super().bind(namespace, name, uid, node)


def _bind_at_once(
    binder: Binder, store: ClusterStore, names: tuple[str, ...]
) -> dict[str, BindOutcome]:
    """Each pod bound to n1 from its own thread, as kube-scheduler's binding goroutines do."""
    import threading

    outcomes = {}

    def bind(name: str) -> None:
        request = BindRequest("ns", name, f"uid-{name}", "n1")
        outcomes[name] = bind_pod(binder, store, request, schedulers=SERVED, wait=0)

    threads = [threading.Thread(target=bind, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_binds_in_flight_do_not_both_take_the_last_room() -> None:
    """kube-scheduler binds in parallel: two replacements of one ReplicaSet were bound 22 ms
    apart onto a node with room for one (the e2e smoke run, rs-006 on i1-node-02), as both
    checked the room before either was counted."""
    store, binder = store_with(pending("p"), pending("q")), Slow()
    store.replace("Node", [api_node("n1", allocatable={"cpu": "1", "pods": "10"})])
    outcomes = _bind_at_once(binder, store, ("p", "q"))
    assert len(binder.calls) == 1
    assert sorted(o.refused for o in outcomes.values()) == [False, True]
    [refused] = [o for o in outcomes.values() if o.refused]
    assert "does not fit n1 now" in refused.error


class Together(Binder):
    """An API server that answers only once two binds are in flight at once."""

    def __init__(self) -> None:
        import threading

        super().__init__()
        self.both = threading.Barrier(2, timeout=30)  # a loaded machine may start a thread late

    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        self.both.wait()  # BrokenBarrierError unless the other bind is sent meanwhile
        super().bind(namespace, name, uid, node)


def test_binds_with_room_for_both_are_sent_at_once() -> None:
    """The room check is atomic with counting the bind in flight, not with its POST: two binds
    that both fit overlap at the API server, as kube-scheduler's binding goroutines send them
    (held across the POST, the lock made each wait for the API server's answer to the other)."""
    store, binder = store_with(pending("p"), pending("q")), Together()
    outcomes = _bind_at_once(binder, store, ("p", "q"))
    assert {name: o.error for name, o in outcomes.items()} == {"p": "", "q": ""}
    assert store.assumed() == {"ns/p": "n1", "ns/q": "n1"}
    assert store.binds_in_flight == {}


class Failing(Binder):
    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        from scheduler_ext.errors import BindError

        super().bind(namespace, name, uid, node)
        raise BindError(f"binding {namespace}/{name} to {node}: 500 Internal Server Error")


class Broken(Binder):
    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        raise RuntimeError("a bug")


def test_a_failed_bind_gives_its_room_back() -> None:
    store = store_with(pending("p"), pending("q"))
    store.replace("Node", [api_node("n1", allocatable={"cpu": "1", "pods": "10"})])
    outcome = bind_pod(
        Failing(), store, BindRequest("ns", "p", "uid-p", "n1"), schedulers=SERVED, wait=0
    )
    assert "500 Internal Server Error" in outcome.error
    with pytest.raises(RuntimeError):
        bind_pod(Broken(), store, BindRequest("ns", "p", "uid-p", "n1"), schedulers=SERVED, wait=0)
    assert (store.assumed(), store.binds_in_flight) == ({}, {})
    binder = Binder()
    outcome = bind_pod(
        binder, store, BindRequest("ns", "q", "uid-q", "n1"), schedulers=SERVED, wait=0
    )
    assert outcome.error == ""
    assert binder.calls == [("ns", "q", "uid-q", "n1")]
