"""``create_app``: the extender service, assembled from settings; nothing is built at import time.

The lifespan starts the background parts and stops them on shutdown:

- without an injected ``store``: one informer thread per watched kind (``cluster/informer.py``),
  feeding a new ``ClusterStore`` through ``client`` when it can list and watch (the command line
  passes a connected ``KubeClient``), else through a client built from
  ``settings.cluster.kubeconfig`` (else the usual kubeconfig lookup, else in-cluster config);
- with ``settings.planning.enabled``: the planning loop (``planning/loop.py``).

Tests inject a store they filled themselves, a fake bind client and a fresh registry, and drive
the app through ``TestClient``; the real parts are exactly the same code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from scheduler_ext import __version__
from scheduler_ext.api import errors, health, openapi, plans
from scheduler_ext.api.deps import Service
from scheduler_ext.api.extender import ExtenderApp
from scheduler_ext.cluster.informer import Backoff, WatchSource, start_informers
from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.config import Settings
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
        if settings.planning.enabled:
            planning = settings.planning
            loop = PlanningLoop(
                service.store,
                service.plans,
                metrics,
                planning,
                debounce_seconds=planning.debounce_seconds,
                start_method=planning.start_method,
            )
            loop.start()
        app.state.planning_loop = loop
        logger.info("scheduler-ext %s serving in %s mode", __version__, settings.mode)
        try:
            yield
        finally:
            stop.set()
            if loop is not None:
                loop.stop()
            if kube is not None:
                kube.close()

    app = FastAPI(
        title="scheduler-ext",
        version=__version__,
        summary="Kubernetes scheduler extender: verbs, plans, health and metrics.",
        lifespan=lifespan,
        # The interactive pages load their scripts from a public CDN: off. /openapi.json stays.
        docs_url=None,
        redoc_url=None,
        # The service's metrics are Prometheus' (metrics.py). FastAPI's native OpenTelemetry
        # would otherwise look up the global providers on every request, kube-scheduler's
        # once-per-pod calls included (about 3% of a prioritize call's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.service = service
    app.state.planning_loop = None
    errors.install(app)
    app.add_middleware(errors.BodyLimit, limit=settings.server.max_body_bytes)
    app.mount("/scheduler", ExtenderApp(service))  # kube-scheduler's urlPrefix
    app.include_router(health.router)
    app.include_router(plans.router)
    openapi.install(app)
    return app
