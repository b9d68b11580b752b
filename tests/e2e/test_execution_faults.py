"""Plans carried out under faults, on a real control plane: the real kube-scheduler with the
shipped all-verbs configuration calls the service in enforce mode, plans are PackingPlans, and
replicas elect a leader on a Lease.

Every test builds the same fragmentation: two "tight" nodes of 2 CPUs, a movable 1-CPU
Deployment pod on the first, a bare 1-CPU pod on the second, and a 2-CPU pod that fits neither:
the plan moves the Deployment's pod to the second node and binds the big pod to the first.
"Mid-plan" is made deterministic by pausing kwok (``testkit/faults.py``): the evicted pod stays
Terminating, so the plan stays in Evicting with its room held, as long as the test needs.

- (d) hundreds of pods of three priorities (lower, in between, equal to the planned pod's)
  arrive while the plan holds room: none lands on the nodes held for the plan, and every planned
  pod ends on its planned node;
- (e) the leader of two replicas is killed (SIGKILL) mid-plan: the other takes the plan over and
  completes it;
- (f) the single service is killed mid-plan and restarted: the restarted one takes it over;
- (g) the API server restarts mid-plan: readiness says "stale" meanwhile, the watches recover,
  and the plan is taken over again and completed;
- (h) the service is stopped (SIGTERM) mid-plan: it aborts the plan, saying why, and nothing is
  lost.

Each run ends with no reservation held and a later pod using the room, and logs and asserts
"pods lost 0, PDB violations 0" (no budget covers these pods: none can be violated).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit import builders
from testkit.cluster import KwokCluster, free_port
from testkit.enforce import (
    bare_on,
    create_retrying,
    deploy_on,
    finished_plan,
    kill,
    leading,
    plan_in,
    settled_lost,
    taken_over,
)
from testkit.faults import paused, restart
from testkit.kube import Kube, is_running
from testkit.processes import terminate
from testkit.sandbox import Sandbox
from testkit.service import ServiceProcess, extender_config
from testkit.wait import wait_for
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

logger = logging.getLogger(__name__)

NAMESPACE = "scheduler-ext"
TIGHT = {"tier": "tight"}
KWOK = "kwok-controller"
READY = 240.0
"""Seconds a service may take to be ready: a loaded 2-core machine starts Python slowly."""
CONTROLLER_MANAGER = {"node-monitor-grace-period": "600s", "leader-elect": "false"}


@dataclass
class Faulty:
    cluster: KwokCluster
    kube: Kube
    port: int
    """The port kube-scheduler's extender configuration names."""
    logs: Path


@pytest.fixture(scope="module")
def faulty(
    cluster_factory: ClusterFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Faulty]:
    port = free_port()
    # kwok is paused for up to a minute or two: nodes must not turn NotReady meanwhile.
    cluster = cluster_factory(
        extender_config(port),
        prefix="faults",
        # ... and it must not exit when the API server restarts (a lost leader election ends it,
        # and kwokctl's binary runtime does not restart it).
        extra_args={"kube-controller-manager": CONTROLLER_MANAGER},
    )
    try:
        cluster.install_crds()
        with Kube(cluster.api_client()) as kube:
            kube.create(builders.namespace(NAMESPACE))
            yield Faulty(cluster, kube, port, tmp_path_factory.mktemp("faults"))
    finally:
        cluster_factory.delete(cluster)


def _service(f: Faulty, identity: str, port: int | None = None, **env: str) -> ServiceProcess:
    settings = {
        "SCHEDULER_EXT_MODE": "enforce",
        "SCHEDULER_EXT_EXECUTION__DEADLINE_SECONDS": "300",
        "SCHEDULER_EXT_PLANNING__TIME_LIMIT_SECONDS": "15",
        "SCHEDULER_EXT_CLUSTER__NAMESPACE": NAMESPACE,
        "SCHEDULER_EXT_PLANNING__JOURNAL": "packingplans",
        "SCHEDULER_EXT_LEADER_ELECTION__IDENTITY": identity,
        "SCHEDULER_EXT_LEADER_ELECTION__LEASE_DURATION_SECONDS": "4",
        "SCHEDULER_EXT_LEADER_ELECTION__RENEW_DEADLINE_SECONDS": "3",
        "SCHEDULER_EXT_LEADER_ELECTION__RETRY_PERIOD_SECONDS": "0.5",
        **env,
    }
    log = f.logs / f"{identity}.log"
    service = ServiceProcess(f.cluster.kubeconfig, port or f.port, log, env=settings)
    return service.start()


@dataclass
class Scene:
    box: Sandbox
    n0: str
    n1: str
    spare: str | None
    mover_uid: str


class Started:
    """What one test started: on leaving the ``with`` the services are stopped (in the order
    started), then the scenes cleaned up, however the test ended (within the test itself, so a
    failure's captured output has each service's log tail)."""

    def __init__(self, f: Faulty) -> None:
        self.f = f
        self.services: list[ServiceProcess] = []
        self.scenes: list[Scene] = []

    def service(self, identity: str, *, port: int | None = None, **env: str) -> ServiceProcess:
        """A service started and ready."""
        service = _service(self.f, identity, port, **env)
        self.services.append(service)
        service.wait_ready(READY)
        return service

    def leader(self, identity: str, **env: str) -> ServiceProcess:
        """A service started, ready and leading."""
        service = self.service(identity, port=None, **env)
        leading(service)
        return service

    def scene(self, prefix: str, *, spare: bool = False) -> Scene:
        scene = _fragmented(self.f, prefix, spare=spare)
        self.scenes.append(scene)
        return scene

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *exc: object) -> None:
        for service in self.services:
            service.stop()
        for scene in self.scenes:
            scene.box.cleanup()


def _fragmented(f: Faulty, prefix: str, *, spare: bool = False) -> Scene:
    box = Sandbox(f.kube, prefix=prefix)
    n0, n1 = box.nodes(2, cpu="2", memory="4Gi", labels=TIGHT)
    extra = box.nodes(1, cpu="64", memory="128Gi", pods=400) if spare else []
    low = box.priority_class("low", 100)
    others = [n1, *extra]
    # A grace period: evicted, it stays Terminating until kwok deletes it (a grace of 0 would
    # have the API server delete it at once).
    deploy_on(
        f.kube, box, "mover", n0, others,
        requests={"cpu": "1"}, priority_class_name=low, termination_grace_period_seconds=600,
    )  # fmt: skip
    bare_on(f.kube, box, "bare", n1, "1")
    [mover] = f.kube.pods(box.namespace, {"app": "mover"})
    return Scene(box, n0, n1, extra[0] if extra else None, mover.metadata.uid)


def _trigger(f: Faulty, scene: Scene) -> None:
    """The 2-CPU pod, only for the tight nodes (the spare node would take it at once)."""
    high = scene.box.priority_class("high", 10_000, preemption_policy="Never")
    manifest = builders.pod(
        "big",
        namespace=scene.box.namespace,
        requests={"cpu": "2"},
        priority_class_name=high,
        node_selector={**scene.box.node_selector, **TIGHT},
    )
    create_retrying(f.kube, manifest)


def _mid_plan(f: Faulty, scene: Scene, service: ServiceProcess) -> dict[str, Any]:
    """The big pod created (kwok paused), then wait until the plan evicted the mover (it stays
    Terminating) and its replacement is bound to the planned node; the plan, as ``service``
    serves it."""
    _trigger(f, scene)
    ns = scene.box.namespace
    plan = plan_in(service, f"{ns}/big", ("Evicting",))
    assert [(m["fromNode"], m["toNode"]) for m in plan["spec"]["moves"]] == [(scene.n0, scene.n1)]
    assert plan["spec"]["bindings"] == [{"pod": f"{ns}/big", "node": scene.n0}]

    def movers() -> list[Any]:
        return f.kube.pods(ns, {"app": "mover"})

    wait_for(
        movers,
        lambda pods: (
            any(p.metadata.uid == scene.mover_uid and p.metadata.deletion_timestamp for p in pods)
            and any(
                p.metadata.uid != scene.mover_uid and p.spec.node_name == scene.n1 for p in pods
            )
        ),
        description="the mover Terminating and its replacement bound to its planned node",
        timeout=60,
        describe=lambda pods: [(p.metadata.name, p.spec.node_name) for p in pods],
    )
    return plan


def _resumed_in_evicting(service: ServiceProcess, scene: Scene) -> None:
    plan = taken_over(service, f"{scene.box.namespace}/big")
    assert plan["status"]["reason"] == "leader changed mid-plan: resumed in Evicting"


def _no_room_held(service: ServiceProcess) -> None:
    """No room left held by ``service``, within a few of its polls: a follower lets its copy of
    a plan's room go once its watch shows the plan ended and its executor polls (0.5 s)."""
    wait_for(
        lambda: service.metric("scheduler_ext_reservations_held"),
        lambda held: held == 0,
        description=f"no room held by {service.log_path.name}",
        timeout=15,
    )


def _ends_well(f: Faulty, scene: Scene, service: ServiceProcess, bare: list[str]) -> dict[str, Any]:
    """The plan Completed, every pod where it planned it, nothing lost, no room left held, and
    a later pod uses the room."""
    ns = scene.box.namespace
    plan = finished_plan(service, f"{ns}/big", timeout=180)
    assert plan["status"]["phase"] == "Completed", plan["status"]
    big = f.kube.wait_pod("big", ns, is_running, description="big running", timeout=120)
    assert big.spec.node_name == scene.n0
    [replacement] = f.kube.wait_running(ns, {"app": "mover"}, 1, timeout=120)
    assert replacement.metadata.uid != scene.mover_uid
    assert replacement.spec.node_name == scene.n1
    lost = settled_lost(f.kube, ns, ["bare", *bare], timeout=180)
    violations = 0  # no budget covers these pods
    logger.info("%s: pods lost %d, PDB violations %d", ns, lost, violations)
    assert (lost, violations) == (0, 0)
    _no_room_held(service)
    # No hold outlives the plan: with big gone, a later pod of the same size takes its room.
    f.kube.core.delete_namespaced_pod("big", ns, grace_period_seconds=0)
    tight = {**scene.box.node_selector, **TIGHT}
    later = builders.pod("later", namespace=ns, requests={"cpu": "2"}, node_selector=tight)
    f.kube.create(later)
    ran = f.kube.wait_pod("later", ns, is_running, description="later running", timeout=120)
    assert ran.spec.node_name == scene.n0
    return plan


def test_d_arrivals_never_take_the_room_a_plan_holds(faulty: Faulty) -> None:
    f = faulty
    with Started(f) as started:
        service = started.leader("arrivals")
        scene = started.scene("arrive", spare=True)
        box, ns = scene.box, scene.box.namespace
        classes = {
            value: box.priority_class(f"p{value}", value, preemption_policy="Never")
            for value in (100, 1000)
        }
        classes[10_000] = f"{box.id}-high"  # the planned pod's own class: equal priority
        names: list[str] = []
        with paused(f.cluster, KWOK):
            _mid_plan(f, scene, service)
            for i in range(240):
                value = (100, 1000, 10_000)[i % 3]
                name = f"arrival-{value}-{i}"
                manifest = builders.pod(
                    name,
                    namespace=ns,
                    requests={"cpu": "50m", "memory": "64Mi"},
                    priority_class_name=classes[value],
                    node_selector=box.node_selector,
                )
                create_retrying(f.kube, manifest)
                names.append(name)
            placed = wait_for(
                lambda: {p.metadata.name: p.spec.node_name for p in f.kube.pods(ns)},
                lambda nodes: all(nodes.get(n) for n in names),
                description="every arrival bound",
                timeout=240,
                describe=lambda nodes: sum(1 for n in names if nodes.get(n)),
            )
            phase = plan_in(service, f"{ns}/big", ("Evicting",))["status"]["phase"]
            assert phase == "Evicting"  # the plan held its room the whole time
            held = {scene.n0, scene.n1}
            intruders = sorted(n for n in names if placed[n] in held)
            assert intruders == [], intruders
        plan = _ends_well(f, scene, service, names)
        final = {p.metadata.name: p.spec.node_name for p in f.kube.pods(ns)}
        assert not [n for n in names if final.get(n) in {scene.n0, scene.n1}]
        logger.info(
            "arrivals: %d pods of priorities 100, 1000, 10000 placed while plan %s held room; "
            "none on %s or %s",
            len(names),
            plan["metadata"]["name"],
            scene.n0,
            scene.n1,
        )


def test_e_the_leader_killed_mid_plan_the_other_replica_completes_it(faulty: Faulty) -> None:
    f = faulty
    with Started(f) as started:
        first = started.leader("replica-a")  # the one kube-scheduler calls
        scene = started.scene("leader")
        second = started.service("replica-b", port=free_port())
        with paused(f.cluster, KWOK):
            _mid_plan(f, scene, second)
            kill(first)
            leading(second)
            # The killed replica comes back, as its Deployment would restart it, as a follower.
            again = started.service("replica-a-again")
            _resumed_in_evicting(second, scene)
        _ends_well(f, scene, second, [])
        assert "taken over in Evicting" in second.log()
        _no_room_held(again)


def test_f_the_service_killed_mid_plan_takes_it_over_when_restarted(faulty: Faulty) -> None:
    f = faulty
    with Started(f) as started:
        service = started.leader("single")
        scene = started.scene("restart")
        with paused(f.cluster, KWOK):
            _mid_plan(f, scene, service)
            kill(service)
            restarted = started.service("single-restarted")
            _resumed_in_evicting(restarted, scene)
        _ends_well(f, scene, restarted, [])


def test_g_the_api_server_restarting_mid_plan(faulty: Faulty) -> None:
    f = faulty
    with Started(f) as started:
        service = started.leader("apiserver", SCHEDULER_EXT_CLUSTER__STALENESS_SECONDS="8")
        statuses: list[tuple[float, int]] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.wait(0.5):
                try:
                    statuses.append((time.monotonic(), service.get("/readyz")[0]))
                except OSError:
                    statuses.append((time.monotonic(), 0))

        watcher = threading.Thread(target=probe, daemon=True)
        try:
            scene = started.scene("apiserver")
            ns = scene.box.namespace
            with paused(f.cluster, KWOK):
                _mid_plan(f, scene, service)
                watcher.start()
                restart(f.cluster, "kube-apiserver", down=20, sig=signal.SIGKILL)  # a crash
                wait_for(
                    lambda: f.kube.core.read_namespace(NAMESPACE),
                    lambda found: found is not None,
                    description="the API server back",
                    timeout=120,
                )
                service.wait_ready(timeout=120)  # the watches recovered
                taken_over(service, f"{ns}/big")
            stop.set()
            watcher.join(60)  # a probe in flight may take its 5 s timeout, and more under load
            assert not watcher.is_alive()
            seen = [code for _, code in statuses]
            assert 503 in seen, seen  # readiness said so while the API server was away
            # ... and ready again after it, to the end: a probe that got no answer in time (0)
            # says nothing either way; a 503 after the recovery would fail.
            answered = [code for code in seen if code != 0]
            assert 200 in answered[answered.index(503) :], seen
            assert answered[-1] == 200, seen
            assert "no longer leading in Evicting" in service.log()
            assert f.cluster.dead_components() == []
            _ends_well(f, scene, service, [])
        finally:
            stop.set()


def test_h_a_stopped_service_aborts_its_plan_and_nothing_is_lost(faulty: Faulty) -> None:
    """``stop`` (SIGTERM) mid-plan: the plan is aborted (room dropped, said why) before the Lease
    is released; the restarted service finds nothing to take over; the pods still all run."""
    f = faulty
    with Started(f) as started:
        service = started.leader("stopping")
        scene = started.scene("stop")
        ns = scene.box.namespace
        with paused(f.cluster, KWOK):
            name = _mid_plan(f, scene, service)["metadata"]["name"]
            # SIGTERM, and as long as a loaded machine needs to shut down (the abort is written
            # on the way out: a SIGKILL after the usual 15 s would lose it).
            terminate(service.process, grace=READY)
            service.stop()
            assert "aborted in Evicting: the service stopped while the plan ran" in service.log()
            restarted = started.service("stopping-restarted")
            # (It may plan again meanwhile: a new plan for big, aborted before any eviction while
            # the victim is still Terminating, or carried out once it is gone.) Its readiness
            # does not wait for the PackingPlans' watch: the plan is served once that listed.
            _, text = wait_for(
                lambda: restarted.get(f"/api/v1/plans/{name}"),
                lambda answer: answer[0] == 200,
                description=f"the restarted service serving {name}",
                timeout=60,
            )
            plan = json.loads(text)
            assert plan["status"]["phase"] == "Aborted"
            assert plan["status"]["reason"] == "the service stopped while the plan ran"
        # kwok back: the victim goes, kube-scheduler (or a new plan) places big in its room.
        big = f.kube.wait_pod("big", ns, is_running, description="big running", timeout=180)
        assert big.spec.node_name == scene.n0
        lost = settled_lost(f.kube, ns, ["bare"], timeout=180)
        logger.info("%s: pods lost %d, PDB violations %d", ns, lost, 0)
        assert lost == 0
        assert "taken over" not in restarted.log()
        _no_room_held(restarted)
