"""The *shape* of a JSON document: its keys and value types, without its values.

Used to check that re-recorded extender requests still look like the committed ones: the same
keys (with Go's exact casing) and the same kinds of values, whatever the names, UIDs and
timestamps of a particular run.

- scalars become ``"string"``, ``"number"``, ``"bool"`` or ``"null"``;
- a list becomes a one-element list holding the merged shape of its items (``[]`` if empty);
- an object keeps its keys, except the objects named in ``DATA_KEYED``, whose keys are data (node
  names, label keys, resource names): their values are merged under the single key ``"*"``;
- the objects named in ``OPAQUE`` (server-side-apply field sets) become ``"object"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Objects whose keys are data, not schema.
DATA_KEYED = frozenset(
    {
        "NodeNameToVictims",
        "NodeNameToMetaVictims",
        "FailedNodes",
        "FailedAndUnresolvableNodes",
        "labels",
        "annotations",
        "allocatable",
        "capacity",
        "requests",
        "limits",
        "nodeSelector",
        "matchLabels",
    }
)
#: Objects whose content depends on the history of writes, not on the API.
OPAQUE = frozenset({"fieldsV1"})


def shape(value: Any, key: str = "") -> Any:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return [merge(shape(item) for item in value)] if value else []
    if isinstance(value, dict):
        if key in OPAQUE:
            return "object"
        if key in DATA_KEYED:
            return {"*": merge(shape(v) for v in value.values())} if value else {}
        return {k: shape(v, k) for k, v in value.items()}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def merge(shapes: Iterable[Any]) -> Any:
    """One shape that covers all of ``shapes`` (objects: union of keys; conflicts: ``a|b``)."""
    result: Any = None
    for s in shapes:
        result = s if result is None else _merge2(result, s)
    return result if result is not None else "null"


def _merge2(a: Any, b: Any) -> Any:
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge2(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in a | b}
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return a or b
        return [_merge2(a[0], b[0])]
    names = set(str(a).split("|")) | set(str(b).split("|"))
    return "|".join(sorted(names))


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Readable differences between two shapes (empty when equal)."""
    if expected == actual:
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for k in expected.keys() - actual.keys():
            out.append(f"{path}.{k}: missing (expected {_short(expected[k])})")
        for k in actual.keys() - expected.keys():
            out.append(f"{path}.{k}: unexpected (got {_short(actual[k])})")
        for k in expected.keys() & actual.keys():
            out.extend(differences(expected[k], actual[k], f"{path}.{k}"))
        return sorted(out)
    if isinstance(expected, list) and isinstance(actual, list) and expected and actual:
        return differences(expected[0], actual[0], f"{path}[]")
    return [f"{path}: expected {_short(expected)}, got {_short(actual)}"]


def _short(s: Any) -> str:
    text = repr(s)
    return text if len(text) <= 80 else text[:77] + "..."
