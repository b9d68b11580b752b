"""Pydantic mirrors of ``k8s.io/kube-scheduler/extender/v1``: the bodies kube-scheduler sends and
the answers it decodes.

The Go structs have no JSON tags, so the keys on the wire are the Go field names (``Pod``,
``NodeNames``, ``FailedNodes``, ``Host``...) and every pointer, map or slice left nil is sent as
``null``. Go's decoder matches keys case-insensitively and ignores unknown ones; these models do
the same for the extender types (``nodenames`` reads as ``NodeNames``). The embedded ``v1.Pod`` and
``v1.Node`` objects are ordinary Kubernetes JSON and stay plain dicts: the converter of
``cluster/convert/`` reads them exactly as it reads a snapshot, with the same error messages.

Responses are written as plain dicts by the verbs for speed (5,000 node names per filter call);
the response models here document them in the OpenAPI schema and are used by the tests to check
that every answer parses as kube-scheduler would parse it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema, model_validator

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def fold_keys(data: dict[Any, Any], names: dict[str, str]) -> dict[Any, Any]:
    """``data`` with each key matching a Go field name case-insensitively (``names``: lowercase
    -> Go name) renamed to it; the exact spelling wins over another casing, as in Go."""
    if all(key in names.values() for key in data):
        return data  # already canonical (kube-scheduler's bodies): no copy
    folded: dict[Any, Any] = {}
    for key, value in data.items():
        canonical = names.get(key.lower(), key) if isinstance(key, str) else key
        if canonical not in folded or key == canonical:
            folded[canonical] = value
    return folded


class GoModel(BaseModel):
    """Keys matched case-insensitively against the Go field names; unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", validate_by_alias=True, validate_by_name=False)

    @classmethod
    def go_names(cls) -> dict[str, str]:
        """Lowercase key -> the Go field name, for every field."""
        return {
            (field.alias or name).lower(): field.alias or name
            for name, field in cls.model_fields.items()
        }

    @model_validator(mode="before")
    @classmethod
    def _fold_case(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return fold_keys(data, cls.go_names())


class NodeList(BaseModel):
    """A ``v1.NodeList`` (Kubernetes JSON); items stay raw Node objects."""

    model_config = ConfigDict(extra="allow")

    metadata: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None


_NAMED = {
    "type": "object",
    "properties": {
        "metadata": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}},
            "required": ["name"],
        }
    },
    "required": ["metadata"],
}
PodObject = Annotated[dict[str, Any], WithJsonSchema({**_NAMED, "description": "A v1.Pod."})]
"""A raw v1.Pod (the converter reads it); documented as what the verbs require of it."""
VictimPod = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {
                "metadata": {
                    "type": "object",
                    "properties": {"uid": {"type": "string", "minLength": 1}},
                    "required": ["uid"],
                }
            },
            "required": ["metadata"],
            "description": "A v1.Pod; preempt reads only its UID.",
        }
    ),
]


class ExtenderArgs(GoModel):
    """Body of filter and prioritize: ``Nodes`` with ``nodeCacheCapable: false``, ``NodeNames``
    with ``nodeCacheCapable: true``."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["NodeNames"], "properties": {"NodeNames": {"type": "array"}}},
                {"required": ["Nodes"], "properties": {"Nodes": {"type": "object"}}},
            ]
        }
    )

    pod: PodObject = Field(alias="Pod")
    nodes: NodeList | None = Field(default=None, alias="Nodes")
    node_names: list[str] | None = Field(default=None, alias="NodeNames")


EXTENDER_ARGS_KEYS = ExtenderArgs.go_names()


class ExtenderFilterResult(GoModel):
    nodes: NodeList | None = Field(default=None, alias="Nodes")
    node_names: list[str] | None = Field(default=None, alias="NodeNames")
    failed_nodes: dict[str, str] | None = Field(default=None, alias="FailedNodes")
    failed_and_unresolvable_nodes: dict[str, str] | None = Field(
        default=None, alias="FailedAndUnresolvableNodes"
    )
    error: str = Field(default="", alias="Error")


class HostPriority(GoModel):
    host: str = Field(alias="Host")
    score: int = Field(alias="Score", ge=0, le=10)


class ExtenderBindingArgs(GoModel):
    pod_name: str = Field(alias="PodName", min_length=1)
    pod_namespace: str = Field(alias="PodNamespace", min_length=1)
    pod_uid: str = Field(default="", alias="PodUID")
    node: str = Field(alias="Node", min_length=1)


class ExtenderBindingResult(GoModel):
    error: str = Field(default="", alias="Error")


class MetaPod(GoModel):
    uid: str = Field(alias="UID")


class MetaVictims(GoModel):
    pods: list[MetaPod] | None = Field(default=None, alias="Pods")
    num_pdb_violations: StrictInt = Field(
        default=0, alias="NumPDBViolations", ge=INT64_MIN, le=INT64_MAX
    )


class Victims(GoModel):
    pods: list[VictimPod] | None = Field(default=None, alias="Pods")
    num_pdb_violations: StrictInt = Field(
        default=0, alias="NumPDBViolations", ge=INT64_MIN, le=INT64_MAX
    )


class ExtenderPreemptionArgs(GoModel):
    pod: PodObject = Field(alias="Pod")
    node_name_to_victims: dict[str, Victims | None] | None = Field(
        default=None, alias="NodeNameToVictims"
    )
    node_name_to_meta_victims: dict[str, MetaVictims | None] | None = Field(
        default=None, alias="NodeNameToMetaVictims"
    )


class ExtenderPreemptionResult(GoModel):
    node_name_to_meta_victims: dict[str, MetaVictims] | None = Field(
        default=None, alias="NodeNameToMetaVictims"
    )
