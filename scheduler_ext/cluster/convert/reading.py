"""Typed reading of untrusted Kubernetes JSON, failing in one line that names the object and field.

A snapshot file may be hand-written or truncated, so every converter reads fields through a
``Reader`` instead of indexing dicts: a malformed field raises ``SnapshotError`` with
``pods/ns/name: spec.containers[0].resources.requests.cpu: invalid quantity "x"``, and no
``KeyError`` or ``TypeError`` escapes. A field that is absent or JSON ``null`` reads as its empty
value, as in Go's decoder.

``Cache`` is the one bounded cache the converters share: the pods of one workload repeat the same
quantities, resources, tolerations and owners, and converting each distinct value once keeps a
30,000-pod snapshot fast.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import Any, NoReturn, TypeVar

from scheduler_ext.cluster import quantity
from scheduler_ext.cluster.kinds import DEFAULT_NAMESPACE, Kind
from scheduler_ext.errors import SnapshotError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

EMPTY: Mapping[str, Any] = {}


class Cache(dict[K, V]):
    """Converted values keyed by exact, hashable copies of the JSON they came from (never by
    ``id()``: equal keys mean equal input).

    Emptied when full rather than evicting entry by entry: a cluster's distinct values are far
    fewer than the limit, so a clear only bounds memory on odd input. Values are immutable results
    (or, for requests, never modified by callers), so sharing them across calls and threads is safe.
    """

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


_SHOWN_BITS = 1000  # about 300 digits: beyond that an error message names the size instead
_NANOS: Cache[str, int] = Cache(100_000)  # quantity strings repeat; parsing is the costly part


def show(value: object) -> str:
    """A value as it would appear in the JSON, for error messages (never raising: an integer too
    long for ``str`` is described by its size)."""
    if type(value) is int and value.bit_length() > _SHOWN_BITS:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        try:
            return repr(value)
        except ValueError:
            return type(value).__name__


def type_name(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


class Reader:
    """Typed access to one object's fields; failures name the object (``pods/ns/name``) and path."""

    __slots__ = ("ref",)

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def fail(self, path: str, problem: str) -> NoReturn:
        raise SnapshotError(f"{self.ref}: {path}: {problem}")

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if type(value) is dict:  # the common case, without the slower ABC check
            return value
        if value is None:
            return EMPTY
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping, got {type_name(value)}")
        return value

    def items(self, value: object, path: str) -> list[Any] | tuple[Any, ...]:
        if type(value) is list:
            return value
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.fail(path, f"expected a list, got {type_name(value)}")
        return value

    def string(self, value: object, path: str, default: str = "") -> str:
        if type(value) is str:
            return value
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {type_name(value)}")
        return value

    def required_string(self, value: object, path: str) -> str:
        if value is None or value == "":
            self.fail(path, "missing")
        return self.string(value, path)

    def integer(self, value: object, path: str, default: int = 0) -> int:
        if type(value) is int:
            return value
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {type_name(value)}")
        return value

    def boolean(self, value: object, path: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(path, f"expected a boolean, got {type_name(value)}")
        return value

    def strings(self, value: object, path: str) -> tuple[str, ...]:
        return tuple(
            self.string(item, f"{path}[{i}]") for i, item in enumerate(self.items(value, path))
        )

    def labels(self, value: object, path: str) -> tuple[tuple[str, str], ...]:
        """A string-to-string mapping (labels, annotations, nodeSelector) as sorted pairs."""
        mapping = self.mapping(value, path)
        if not mapping:
            return ()
        for key, item in mapping.items():
            if type(item) is not str or type(key) is not str:
                if not isinstance(key, str):
                    self.fail(path, f"expected string keys, got {show(key)}")
                self.fail(f"{path}.{key}", f"expected a string, got {type_name(item)}")
        return tuple(sorted(mapping.items()))

    def nanos(self, value: object, path: str) -> int:
        """A quantity as the API server stores it, in nanos: rounded up to a milli-unit
        (``SetDefaults_ResourceList``) and never negative (``ValidateResourceQuantityValue``
        refuses a negative one: "must be greater than or equal to 0")."""
        if type(value) is str:
            cached = _NANOS.get(value)
            if cached is not None:
                return cached
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(path, f"invalid quantity {show(value)}")
        try:
            amount = quantity.milli_rounded_nanos(quantity.nanos(value))
        except ValueError:
            self.fail(path, f"invalid quantity {show(value)}")
        if amount < 0:
            self.fail(path, f"invalid quantity {show(value)}: must be greater than or equal to 0")
        if type(value) is str:
            _NANOS.remember(value, amount)
        return amount

    def resources(self, value: object, path: str) -> dict[str, int]:
        """A ResourceList as exact nano amounts (added before rounding, as Go adds Quantities);
        resource names must be strings (YAML allows ``1:`` or ``null:`` keys)."""
        amounts = {}
        for name, amount in self.mapping(value, path).items():
            if type(name) is not str:
                self.fail(path, f"expected string resource names, got {show(name)}")
            amounts[name] = self.nanos(amount, f"{path}.{name}")
        return amounts


class KindReader:
    """Opens objects of one kind: checks the shape and name, and names the object in errors
    (``pods/ns/name``). The kind's facts are looked up once, not per object."""

    __slots__ = ("namespaced", "plural")

    def __init__(self, kind: Kind) -> None:
        self.plural = kind.plural
        self.namespaced = kind.namespaced

    def open(self, obj: object) -> tuple[Reader, Mapping[str, Any]]:
        """A reader naming the object, and its metadata (a mapping with a non-empty name)."""
        if type(obj) is not dict and not isinstance(obj, Mapping):
            raise SnapshotError(
                f"{self.plural}: expected an object (mapping), got {type_name(obj)}"
            )
        meta_raw: Any = obj.get("metadata")
        is_mapping = type(meta_raw) is dict or isinstance(meta_raw, Mapping)
        name = meta_raw.get("name") if is_mapping else None
        shown_name = name if type(name) is str and name else "?"
        if self.namespaced:
            namespace = meta_raw.get("namespace") if is_mapping else None
            shown_ns = namespace if type(namespace) is str and namespace else DEFAULT_NAMESPACE
            reader = Reader(f"{self.plural}/{shown_ns}/{shown_name}")
        else:
            reader = Reader(f"{self.plural}/{shown_name}")
        if shown_name == "?":  # a valid name implies metadata is a mapping
            meta = reader.mapping(meta_raw, "metadata")
            reader.required_string(meta.get("name"), "metadata.name")
        return reader, meta_raw


def namespace_of(reader: Reader, meta: Mapping[str, Any]) -> str:
    return reader.string(meta.get("namespace"), "metadata.namespace") or DEFAULT_NAMESPACE
