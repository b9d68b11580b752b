"""Request bodies: parsed fast for kube-scheduler's usual calls, one clear line for any other.

Bodies are parsed with orjson. kube-scheduler's usual filter/prioritize body (``nodeCacheCapable:
true``: a Pod object and a list of names, ``Nodes`` null) is checked by hand, so nothing of 5,000
names is copied; anything else goes through the pydantic models of ``schemas.py``, which name the
bad field. A body a verb cannot take raises ``BadBody`` with one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from scheduler_ext.errors import describe_validation
from scheduler_ext.extender import schemas

_M = TypeVar("_M", bound=BaseModel)


class BadBody(Exception):
    """The request body is not what the verb takes: 422 with this one line as ``detail``."""


def decode(body: bytes) -> Any:
    if not body.strip():
        raise BadBody("body: a JSON object is required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON: {exc}") from None


def parse(model: type[_M], body: bytes) -> _M:
    """``body`` as ``model``; BadBody names the bad field."""
    data = decode(body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadBody(describe_validation(exc)) from None


def metadata(obj: Mapping[str, Any], field: str, where: str) -> str:
    """``obj.metadata.<field>``, a non-empty string, else BadBody naming ``where``."""
    meta = obj.get("metadata")
    value = meta.get(field) if isinstance(meta, Mapping) else None
    if not isinstance(value, str) or not value:
        raise BadBody(f"{where}.metadata.{field}: required")
    return value


class ExtenderArgs:
    """The parts of ``ExtenderArgs`` the verbs read: the raw Pod, the node names, and the Node
    objects when kube-scheduler sent them (no node cache)."""

    __slots__ = ("names", "nodes", "pod")

    def __init__(
        self, pod: dict[str, Any], names: list[str], nodes: list[dict[str, Any]] | None
    ) -> None:
        self.pod = pod
        self.names = names
        self.nodes = nodes


def extender_args(body: bytes) -> ExtenderArgs:
    """The body of filter and prioritize."""
    data = decode(body)
    if isinstance(data, dict):
        folded = schemas.fold_keys(data, schemas.EXTENDER_ARGS_KEYS)
        pod = folded.get("Pod")
        names = folded.get("NodeNames")
        if isinstance(pod, dict) and folded.get("Nodes") is None and type(names) is list:
            try:
                "".join(names)  # C speed: TypeError unless every name is a string
            except TypeError:
                pass
            else:
                return ExtenderArgs(pod, names, None)
    try:
        args = schemas.ExtenderArgs.model_validate(data)
    except ValidationError as exc:
        raise BadBody(describe_validation(exc)) from None
    if args.node_names is not None:
        return ExtenderArgs(args.pod, args.node_names, None)
    if args.nodes is None:
        raise BadBody("one of NodeNames (nodeCacheCapable: true) or Nodes is required")
    items = args.nodes.items or []
    names = [metadata(item, "name", f"Nodes.items[{i}]") for i, item in enumerate(items)]
    return ExtenderArgs(args.pod, names, items)
