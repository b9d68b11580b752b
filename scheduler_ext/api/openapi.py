"""The OpenAPI schema: FastAPI's for its own routes, plus the extender verbs.

The verbs are served by a bare ASGI app (``api/extender.py``), which FastAPI cannot see, so their
operations are added here from the same pydantic models that describe the wire format
(``extender/schemas.py``): one source for the documentation, the tests and the answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, RootModel
from pydantic.json_schema import models_json_schema

from scheduler_ext.extender import schemas

REF = "#/components/schemas/{model}"


class HostPriorityList(RootModel[list[schemas.HostPriority]]):
    """prioritize's answer: a bare JSON array."""


VERB_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel], str]] = {
    "filter": (
        schemas.ExtenderArgs,
        schemas.ExtenderFilterResult,
        "The nodes the pod may go to; the others in FailedNodes with the reason.",
    ),
    "prioritize": (
        schemas.ExtenderArgs,
        HostPriorityList,
        "Scores 0-10 of the nodes that score above 0 (kube-scheduler adds nothing for the rest).",
    ),
    "preempt": (
        schemas.ExtenderPreemptionArgs,
        schemas.ExtenderPreemptionResult,
        "The victims per node kube-scheduler may preempt, as UIDs.",
    ),
    "bind": (
        schemas.ExtenderBindingArgs,
        schemas.ExtenderBindingResult,
        "Creates the pod's Binding through the API server.",
    ),
}

_DETAIL = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    }
}


def _json_body(reference: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": reference}}}


def add_extender_verbs(schema: dict[str, Any]) -> None:
    """Add ``POST /scheduler/<verb>`` for the four verbs, and their models, to ``schema``."""
    models = {model for args, result, _ in VERB_MODELS.values() for model in (args, result)}
    refs, definitions = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(definitions.get("$defs", {}))
    for verb, (args, result, summary) in VERB_MODELS.items():
        schema.setdefault("paths", {})[f"/scheduler/{verb}"] = {
            "post": {
                "tags": ["extender"],
                "summary": summary,
                "operationId": f"extender_{verb}",
                "requestBody": {"required": True, **_json_body(refs[(args, "validation")], "")},
                "responses": {
                    "200": _json_body(refs[(result, "validation")], "The verb's answer."),
                    "413": {"description": "A body over server.max_body_bytes.", **_DETAIL},
                    "422": {"description": "A body the verb cannot take (one line).", **_DETAIL},
                    **(
                        {"503": {"description": "State not synced yet.", **_DETAIL}}
                        if verb == "prioritize"
                        else {}
                    ),
                },
            }
        }


def install(app: FastAPI) -> None:
    """Have ``app.openapi()`` include the extender verbs (built once, then cached by FastAPI)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            add_extender_verbs(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
