"""Liveness, readiness and metrics.

``/healthz`` answers as long as the process serves HTTP. ``/readyz`` answers 200 only once every
watched kind, PackingPlans included, has been listed (the state is synced) and while every watch
has heard from the API server within ``cluster.staleness_seconds`` (the state is fresh): a Service
in front of the extender then sends kube-scheduler's calls only to a replica that can answer them,
and the plans API finds every plan that exists. ``/metrics``
is the Prometheus text format of the app's own registry.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from scheduler_ext.api.deps import ServiceDep

router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["metrics"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "The watched state is not ready to answer from."}}
)
async def readyz(service: ServiceDep, response: Response) -> dict[str, str]:
    store = service.store
    stale = store.stale_kinds()
    if service.started and store.synced and service.plans.synced and not stale:
        return {"status": "ok"}
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    if not service.started:
        return {"status": "starting: the verbs are not served yet"}
    if not store.synced:
        return {"status": "cluster state not synced yet"}
    if not service.plans.synced:
        return {"status": "PackingPlans not listed yet"}
    return {"status": f"cluster state stale: no word from the API server on {', '.join(stale)}"}


@metrics_router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(service: ServiceDep) -> Response:
    service.metrics.synced.set(1 if service.store.synced else 0)
    service.metrics.fresh.set(1 if service.store.fresh else 0)
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
