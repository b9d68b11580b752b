"""``create_app``: the extender service, assembled from settings; nothing is built at import time.

The lifespan starts the background parts and stops them on shutdown:

- without an injected ``store``: one informer thread per watched kind (``cluster/informer.py``),
  feeding a new ``ClusterStore`` through ``client`` when it can list and watch (the command line
  passes a connected ``KubeClient``), else through a client built from
  ``settings.cluster.kubeconfig`` (else the usual kubeconfig lookup, else in-cluster config);
- with ``settings.planning.enabled``: the planning loop (``planning/loop.py``);
- in enforce mode (``settings.mode``), the executor the loop hands its plans to
  (``execution/executor.py``), writing through the same client as the bind verb.

Tests inject a store they filled themselves, a fake bind client and a fresh registry, and drive
the app through ``TestClient``; the real parts are exactly the same code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from scheduler_ext import __version__
from scheduler_ext.api import errors, health, limits, openapi, plans
from scheduler_ext.api.deps import Service
from scheduler_ext.api.extender import ExtenderApp
from scheduler_ext.cluster.informer import Backoff, WatchSource, start_informers
from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.config import Settings
from scheduler_ext.execution.executor import Executor
from scheduler_ext.execution.preemption import PreemptionGate
from scheduler_ext.execution.run import ExecutionClient
from scheduler_ext.extender.binding import BindClient
from scheduler_ext.metrics import Metrics
from scheduler_ext.planning.history import PlanHistory
from scheduler_ext.planning.loop import PlanningLoop

logger = logging.getLogger(__name__)


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
    if settings.mode == "enforce":
        planning = settings.planning
        service.preemption = PreemptionGate(
            service.plans,
            window_seconds=planning.debounce_seconds + planning.time_limit_seconds + 10.0,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        kube = None
        if own_store:
            source = client if isinstance(client, WatchSource) else None
            if source is None:
                from scheduler_ext.cluster.client import KubeClient

                kubeconfig = settings.cluster.kubeconfig
                kube = KubeClient.connect(
                    str(kubeconfig) if kubeconfig else None,
                    watch_read_timeout=settings.cluster.staleness_seconds / 2,
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
        loop = None
        executor = _executor(service) if settings.mode == "enforce" else None
        if settings.planning.enabled:
            planning = settings.planning
            loop = PlanningLoop(
                service.store,
                service.plans,
                metrics,
                planning,
                debounce_seconds=planning.debounce_seconds,
                start_method=planning.start_method,
                handler=executor,
            )
            if executor is not None:
                executor.start()
            loop.start()
        app.state.planning_loop = loop
        logger.info("scheduler-ext %s serving in %s mode", __version__, settings.mode)
        try:
            yield
        finally:
            stop.set()
            if loop is not None:
                loop.stop()
            if executor is not None:
                executor.stop()
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


def _executor(service: Service) -> Executor | None:
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
