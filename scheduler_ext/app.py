"""``create_app``: the extender service, assembled from settings; nothing is built at import time.

The lifespan starts the background parts and stops them on shutdown:

- without an injected ``store``: one informer thread per watched kind (``cluster/informer.py``),
  feeding a new ``ClusterStore`` through ``client`` when it can list and watch (the command line
  passes a connected ``KubeClient``), else through a client built from
  ``settings.cluster.kubeconfig`` (else the usual kubeconfig lookup, else in-cluster config);
- with that client: the PackingPlan journal (``planning/packingplans.py``, fed by an informer
  on the service's PackingPlans) when ``planning.journal`` says so (``auto``: when the API server
  serves PackingPlans), else plans stay in memory; and, with ``leader_election.enabled``, the
  leader elector (``planning/leader.py``) on the Lease;
- with ``settings.planning.enabled``: the planning loop (``planning/loop.py``), planning only
  while this replica holds the Lease (and the plans are synced); every replica serves the verbs.
- in enforce mode (``settings.mode``), the executor the loop hands its plans to
  (``execution/executor.py``), writing through the same client as the bind verb; it acts only
  while this replica may plan (the Lease held, the plans synced): it first resumes or aborts the
  plans the journal holds active (``execution/takeover.py``), then carries out what the loop
  hands it. On shutdown it stops before the elector releases the Lease, so that a running plan
  is aborted here before another replica can take it over.

Tests inject a store they filled themselves, a fake bind client and a fresh registry, and drive
the app through ``TestClient``; the real parts are exactly the same code.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from scheduler_ext import __version__
from scheduler_ext.api import errors, health, limits, openapi, plans
from scheduler_ext.api.deps import Service
from scheduler_ext.api.extender import ExtenderApp
from scheduler_ext.cluster.informer import Backoff, WatchSource, start_informers
from scheduler_ext.cluster.kinds import KINDS, Kind
from scheduler_ext.cluster.plan_store import PlanStore
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.config import Settings
from scheduler_ext.errors import ClusterReadError
from scheduler_ext.execution.context import ExecutionClient
from scheduler_ext.execution.executor import Executor
from scheduler_ext.execution.preemption import PreemptionGate
from scheduler_ext.extender.binding import BindClient
from scheduler_ext.metrics import Metrics
from scheduler_ext.planning.history import PlanHistory
from scheduler_ext.planning.leader import LeaderElector, LeaseClient
from scheduler_ext.planning.loop import PlanningLoop
from scheduler_ext.planning.packingplans import PackingPlanJournal, PlanObjects

logger = logging.getLogger(__name__)


@runtime_checkable
class OwnObjectsClient(WatchSource, PlanObjects, LeaseClient, Protocol):
    """A client that also reaches the service's own objects (``cluster/client.py``
    ``KubeClient``): what the PackingPlan journal and leader election need."""

    namespace: str

    def plans_served(self) -> bool: ...


def create_app(
    settings: Settings,
    *,
    store: ClusterStore | None = None,
    client: BindClient | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    metrics = Metrics(registry if registry is not None else CollectorRegistry())
    own_store = store is None
    service = Service(
        settings=settings,
        store=store
        or ClusterStore(
            assume_ttl=settings.cluster.assume_ttl_seconds,
            staleness=settings.cluster.staleness_seconds,
        ),
        metrics=metrics,
        client=client,
        plans=PlanHistory(settings.planning.history),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        kube = _watch(service, client, stop) if own_store else None
        own = kube or (client if own_store and isinstance(client, OwnObjectsClient) else None)
        background = _start_planning(service, own, stop)
        app.state.planning_loop = background.loop
        logger.info("scheduler-ext %s serving in %s mode", __version__, settings.mode)
        service.started = True
        try:
            yield
        finally:
            service.started = False
            stop.set()
            background.stop()
            if kube is not None:
                kube.close()

    app = _fastapi(service, "scheduler-ext", lifespan=lifespan)
    app.state.planning_loop = None
    app.add_middleware(
        limits.BodyLimit,
        limit=settings.server.max_body_bytes,
        large_at_once=settings.server.large_bodies_at_once,
    )
    app.mount("/scheduler", ExtenderApp(service))  # kube-scheduler's urlPrefix
    app.include_router(health.router)
    if settings.server.admin_port is None:
        app.include_router(health.metrics_router)
        app.include_router(plans.router)
        app.state.admin_app = None
    else:
        app.state.admin_app = create_admin_app(service)
    openapi.install(app)
    return app


def _watch(service: Service, client: BindClient | None, stop: threading.Event) -> Any:
    """Informers feeding the service's store, through ``client`` if it can list and watch, else
    through a ``KubeClient`` made here (returned, to be closed; it also becomes the writer)."""
    settings, metrics = service.settings, service.metrics
    source = client if isinstance(client, WatchSource) else None
    kube = None
    if source is None:
        from scheduler_ext.cluster.client import KubeClient

        kubeconfig = settings.cluster.kubeconfig
        kube = KubeClient.connect(
            str(kubeconfig) if kubeconfig else None,
            watch_read_timeout=settings.cluster.staleness_seconds / 2,
            namespace=settings.cluster.namespace,
        )
        source = kube
        if service.client is None:
            service.client = kube
    cluster = settings.cluster
    start_informers(
        source,
        service.store,
        KINDS,
        stop,
        watch_timeout=cluster.watch_timeout_seconds,
        backoff=Backoff(cluster.backoff_initial_seconds, cluster.backoff_max_seconds),
        on_restart=metrics.watch_restarted,
        on_event=metrics.watch_event,
    )
    return kube


@dataclass
class _Background:
    """What the lifespan started besides the informers, stopped in this order."""

    loop: PlanningLoop | None = None
    elector: LeaderElector | None = None
    executor: Executor | None = None

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.executor is not None:  # aborts a running plan while this replica still leads
            self.executor.stop()
        if self.elector is not None:
            self.elector.stop()  # releases the Lease: another replica takes over at once


def _start_planning(
    service: Service, own: OwnObjectsClient | None, stop: threading.Event
) -> _Background:
    """The plan journal (PackingPlans when served), the leader elector, the executor (enforce
    mode) and the planning loop, as the settings say."""
    settings, metrics = service.settings, service.metrics
    plans = _use_packingplans(settings, own, stop, metrics) if own is not None else None
    if plans is not None:
        service.plans = plans[0]
    if settings.mode == "enforce":  # after the journal is chosen: the gate reads its plans
        planning = settings.planning
        service.preemption = PreemptionGate(
            service.plans,
            window_seconds=planning.debounce_seconds + planning.time_limit_seconds + 10.0,
        )
    background = _Background()
    # A replica that does not plan never runs for the Lease (it would hold it for nothing).
    if own is not None and settings.planning.enabled:
        background.elector = _elector(settings, own, metrics)
    elector = background.elector
    if elector is None:
        metrics.leader.set(1 if settings.planning.enabled else 0)

    def may_plan() -> bool:
        return (elector is None or elector.is_leader) and (plans is None or plans[1].synced)

    if settings.mode == "enforce":  # it acts only as may_plan says, and takes plans over first
        background.executor = _executor(service, may_plan)
    if settings.planning.enabled:
        planning = settings.planning
        background.loop = PlanningLoop(
            service.store,
            service.plans,
            metrics,
            planning,
            debounce_seconds=planning.debounce_seconds,
            start_method=planning.start_method,
            may_plan=may_plan,
            handler=background.executor,
        )
        if background.executor is not None:
            background.executor.start()
        background.loop.start()
    return background


def _use_packingplans(
    settings: Settings, kube: OwnObjectsClient, stop: threading.Event, metrics: Metrics
) -> tuple[PackingPlanJournal, PlanStore] | None:
    """The PackingPlan journal and the watched plans it reads, as ``planning.journal`` says;
    None: plans stay in memory."""
    choice = settings.planning.journal
    if choice == "memory":
        return None
    if choice == "auto":
        try:
            served = kube.plans_served()
        except ClusterReadError as exc:  # cannot tell: the deployment installs the CRD
            logger.warning("%s; keeping plans as PackingPlans anyway", exc)
            served = True
        if not served:
            logger.info(
                "PackingPlans are not served (the CRD is not installed): plans kept in memory only"
            )
            return None
    store = PlanStore()
    cluster = settings.cluster
    start_informers(
        kube,
        store,
        [Kind.PACKING_PLAN],
        stop,
        watch_timeout=cluster.watch_timeout_seconds,
        backoff=Backoff(cluster.backoff_initial_seconds, cluster.backoff_max_seconds),
        on_restart=metrics.watch_restarted,
        on_event=metrics.watch_event,
    )
    logger.info("plans kept as PackingPlans in namespace %s", kube.namespace)
    journal = PackingPlanJournal(
        kube,
        store,
        keep=settings.planning.history,
        keep_unfinished=settings.mode != "dry-run",  # in dry-run, nothing moves a plan on
    )
    return journal, store


def _elector(settings: Settings, kube: OwnObjectsClient, metrics: Metrics) -> LeaderElector | None:
    election = settings.leader_election
    if not election.enabled:
        return None
    elector = LeaderElector(
        kube,
        name=election.lease_name,
        identity=election.identity or f"{socket.gethostname()}_{uuid.uuid4()}",
        times=election.times,
        on_started=lambda: metrics.leader.set(1),
        on_stopped=lambda: metrics.leader.set(0),
    )
    metrics.leader.set(0)
    elector.start()
    return elector


def _executor(service: Service, may_act: Callable[[], bool]) -> Executor | None:
    """The executor of enforce mode, writing through the service's client (it must be able to
    evict, bind, annotate and record Events: ``cluster/client.py``'s ``KubeClient`` can)."""
    client = service.client
    if client is None or not all(
        hasattr(client, m) for m in ("evict", "bind", "annotate_pod", "create_event")
    ):
        logger.error("enforce mode needs a client that can evict pods: plans are not executed")
        return None
    execution = service.settings.execution
    return Executor(
        service.store,
        service.plans,
        cast(ExecutionClient, client),
        service.metrics,
        service.settings.planning.eviction_policy(),
        deadline_seconds=execution.deadline_seconds,
        poll_seconds=execution.poll_seconds,
        event_namespace=execution.event_namespace,
        may_act=may_act,
    )


def _fastapi(service: Service, title: str, **kwargs: Any) -> FastAPI:
    app = FastAPI(
        title=title,
        version=__version__,
        summary="Kubernetes scheduler extender: verbs, plans, health and metrics.",
        # The interactive pages load their scripts from a public CDN: off. /openapi.json stays.
        docs_url=None,
        redoc_url=None,
        # The service's metrics are Prometheus' (metrics.py). FastAPI's native OpenTelemetry
        # would otherwise look up the global providers on every request, kube-scheduler's
        # once-per-pod calls included (about 3% of a prioritize call's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        **kwargs,
    )
    app.state.service = service
    errors.install(app)
    return app


def create_admin_app(service: Service) -> FastAPI:
    """The plans API, /metrics and the probes, for ``server.admin_port``: the same service, no
    lifespan of its own (the main app's runs the informers and the planning loop)."""
    app = _fastapi(service, "scheduler-ext (admin)")
    app.include_router(health.router)
    app.include_router(health.metrics_router)
    app.include_router(plans.router)
    return app
