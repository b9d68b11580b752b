"""The shipped PackingPlan CRD holds a plan as render.py writes it: no field would be pruned or
refused by its structural schema, phases are the journal's, names are those of cluster/kinds.py,
and the printer columns read fields the journal writes."""

from __future__ import annotations

from typing import Any

from scheduler_ext import crds
from scheduler_ext.cluster.kinds import PLAN_GROUP, PLAN_VERSION, Kind
from scheduler_ext.domain import (
    Binding,
    Eviction,
    Move,
    PackingPlan,
    PlanStatus,
    TierCount,
    Unplanned,
)
from scheduler_ext.planning.history import Phase
from scheduler_ext.planning.render import plan_to_dict

TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _schema_problems(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """What the API server would prune (undeclared fields) or refuse (wrong type, enum)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    kind = schema.get("type")
    if kind and (not isinstance(value, TYPES[kind]) or (kind != "boolean" and value is True)):
        return [f"{path}: {type(value).__name__} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    problems: list[str] = []
    if isinstance(value, dict) and kind == "object":
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                problems += _schema_problems(item, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                problems += _schema_problems(item, extra, f"{path}.{key}")
            elif path != ".metadata":
                problems.append(f"{path}.{key}: not in the schema (would be pruned)")
        problems += [f"{path}.{key}: required" for key in schema.get("required", [])
                     if key not in value]  # fmt: skip
    if isinstance(value, list) and kind == "array":
        for i, item in enumerate(value):
            problems += _schema_problems(item, schema["items"], f"{path}[{i}]")
    return problems


def _version() -> dict[str, Any]:
    [version] = crds.definition()["spec"]["versions"]
    assert isinstance(version, dict)
    return version


def _stored_plan() -> dict[str, Any]:
    plan = PackingPlan(
        name="plan-x",
        bindings=(Binding("prod/api-7", "n3"),),
        moves=(Move("batch/w-1", "n3", "n1"),),
        evictions=(Eviction("batch/w-2", "n2"),),
        unplanned=(Unplanned("dev/p", "no room at its priority"),),
        status=PlanStatus(True, True, "cpsat", 0.4, (TierCount(1000, 0, 1),), "a message"),
        extra={"stages": [{"name": "greedy", "status": "feasible", "seconds": 0.01}]},
    )
    document = plan_to_dict(plan)
    document["status"].update(
        phase="Aborted",
        reason="a node is gone",
        counts={"bindings": 1, "moves": 1, "evictions": 1, "unplanned": 1},
        truncated={"spec.unplanned": 3},
    )
    return document


def test_a_plan_as_stored_fits_the_schema() -> None:
    schema = _version()["schema"]["openAPIV3Schema"]
    assert _schema_problems(_stored_plan(), schema) == []


def test_the_schema_check_finds_what_would_be_pruned() -> None:
    schema = _version()["schema"]["openAPIV3Schema"]
    plan = _stored_plan()
    plan["spec"]["moves"][0]["via"] = "n9"
    plan["status"]["phase"] = "Running"
    assert _schema_problems(plan, schema) == [
        ".spec.moves[0].via: not in the schema (would be pruned)",
        ".status.phase: 'Running' not in ['Pending', 'Reserving', 'Evicting', 'Binding', "
        "'Completed', 'Aborted']",
    ]


def test_names_phases_and_columns() -> None:
    definition = crds.definition()
    spec = definition["spec"]
    assert definition["metadata"]["name"] == f"{Kind.PACKING_PLAN.plural}.{PLAN_GROUP}"
    assert spec["group"] == PLAN_GROUP
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == Kind.PACKING_PLAN
    assert spec["names"]["plural"] == Kind.PACKING_PLAN.plural
    version = _version()
    assert version["name"] == PLAN_VERSION
    assert version["subresources"] == {"status": {}}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status["properties"]["phase"]["enum"] == [phase.value for phase in Phase]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Phase", "Improves", "Bindings", "Moves", "Evictions", "Age", "Reason"]
    plan = _stored_plan()
    for name, path in columns.items():
        value: Any = plan
        for part in path.lstrip(".").split("."):
            value = value[part] if part != "creationTimestamp" else "set by the API server"
        assert value is not None, name
