"""The read-only plans API: the PackingPlans the plan journal keeps, newest first.

``GET /api/v1/plans`` is a ``PackingPlanList``; ``GET /api/v1/plans/{name}`` one ``PackingPlan``,
exactly as ``scheduler-ext plan -o json`` prints it (``status.improves``: the plan strictly
improves the lexicographic placement), plus ``metadata.creationTimestamp`` and the plan's
``status.phase`` and ``status.reason``. The journal (``planning/history.py``) is the PackingPlan
objects when they are used (``planning/packingplans.py``): every replica then serves every plan,
those made before it started too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from scheduler_ext.api.deps import ServiceDep
from scheduler_ext.planning.render import API_VERSION

router = APIRouter(prefix="/api/v1", tags=["plans"])


class Detail(BaseModel):
    detail: str


@router.get("/plans")
async def list_plans(service: ServiceDep) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "PackingPlanList",
        "metadata": {},
        "items": service.plans.list(),
    }


@router.get(
    "/plans/{name}",
    responses={404: {"description": "No plan of that name is kept.", "model": Detail}},
)
async def get_plan(name: str, service: ServiceDep) -> dict[str, Any]:
    plan = service.plans.get(name)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"plan {name!r} not found")
    return plan
