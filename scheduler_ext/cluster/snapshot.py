"""Build a ``Cluster`` from snapshot files or from raw objects a live reader listed.

Offline planning (``scheduler-ext plan --snapshot``) must give the same answer as planning against
the live cluster, so both paths meet in ``cluster_from_objects``. Files hold JSON or YAML (several
documents too): a ``v1 List`` as ``kubectl get nodes,pods,...,namespaces -A -o json`` prints it, a
typed list (``NodeList``), or single objects; kinds the planner does not read are skipped.

The whole snapshot is checked for consistency, because a plan built on a half-read cluster moves
pods on false premises: a duplicate object with different contents, a pod bound to a node the
snapshot lacks, or a snapshot without nodes are errors, not guesses. What a snapshot cannot tell
(the labels of namespaces it does not list, which ``namespaceSelector`` terms read) leaves the pods
concerned unplanned or unmoved (``convert/namespaces.py``), never planned on a guess.

This module must stay importable without the ``kubernetes`` package (offline planning).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from scheduler_ext.cluster import convert
from scheduler_ext.cluster.convert.namespaces import mark_unknown_namespace_selectors
from scheduler_ext.cluster.kinds import KINDS, Kind, object_key
from scheduler_ext.domain import Cluster, DisruptionBudget, Namespace, Node, Pod, PriorityClass
from scheduler_ext.errors import SnapshotError
from scheduler_ext.gcpause import gc_paused

logger = logging.getLogger(__name__)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parse_file(path: Path) -> list[Any]:
    """The documents of one file, in order; raises SnapshotError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    stripped = text.lstrip()
    if not stripped:
        raise SnapshotError(f"{path}: empty file")
    if stripped[0] in "{[":
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise SnapshotError(
                f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        except RecursionError as exc:
            raise SnapshotError(f"{path}: invalid JSON: nested too deeply") from exc
        except ValueError as exc:  # an integer beyond int's 4,300-digit conversion limit
            raise SnapshotError(f"{path}: invalid JSON: {_one_line(str(exc))}") from exc
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = _one_line(exc.problem or exc.context or "syntax error")
        raise SnapshotError(f"{path}: invalid YAML{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise SnapshotError(f"{path}: invalid YAML: {_one_line(str(exc))}") from exc
    except RecursionError as exc:
        raise SnapshotError(f"{path}: invalid YAML: nested too deeply") from exc
    except ValueError as exc:  # PyYAML's int() of an integer beyond the 4,300-digit limit
        raise SnapshotError(f"{path}: invalid YAML: {_one_line(str(exc))}") from exc


def _objects(document: object, source: str, default_kind: str = "") -> Iterator[Mapping[str, Any]]:
    """Flatten a document (object, List, typed List, or JSON array) into objects with a kind."""
    if isinstance(document, list):
        for item in document:
            yield from _objects(item, source, default_kind)
        return
    if not isinstance(document, Mapping):
        raise SnapshotError(
            f"{source}: expected a Kubernetes object, got {type(document).__name__}"
        )
    kind = document.get("kind") or default_kind
    if not isinstance(kind, str):
        raise SnapshotError(f"{source}: kind: expected a string")
    if kind.endswith("List") and "items" in document:
        items = document.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            raise SnapshotError(f"{source}: {kind}.items: expected a list")
        item_kind = kind.removesuffix("List")  # NodeList items omit their kind; v1 List items don't
        for item in items:
            yield from _objects(item, source, item_kind)
        return
    if kind not in KINDS:
        logger.debug("%s: skipping an object of kind %r", source, kind)
        return
    if kind != document.get("kind"):
        document = {**document, "kind": kind}
    yield document


_PLURALS: Mapping[str, str] = {kind.value: kind.plural for kind in KINDS}  # cheaper than Kind(str)


def _identity(obj: Mapping[str, Any]) -> str | None:
    """``pods/ns/name`` for duplicate detection; None if too malformed (conversion reports it)."""
    kind = obj["kind"]
    key = object_key(kind, obj)
    return None if key is None else f"{_PLURALS[kind]}/{key}"


class _Collector:
    """Objects by kind, remembering where each came from to report duplicates."""

    def __init__(self) -> None:
        # Plain-string keys: looked up once per object by its ``kind`` string (a Kind is equal).
        self.by_kind: dict[str, list[Mapping[str, Any]]] = {kind.value: [] for kind in KINDS}
        self._seen: dict[str, tuple[str, Mapping[str, Any]]] = {}

    def add(self, obj: Mapping[str, Any], source: str) -> None:
        identity = _identity(obj)
        if identity is not None:
            previous = self._seen.get(identity)
            if previous is not None:
                first_source, first = previous
                if first == obj:
                    logger.debug("%s: identical copy in %s ignored", identity, source)
                    return
                where = f"in {first_source}" + ("" if first_source == source else f" and {source}")
                raise SnapshotError(f"{identity}: defined twice, differently, {where}")
            self._seen[identity] = (source, obj)
        self.by_kind[obj["kind"]].append(obj)


def _build(collector: _Collector, *, strict_nodes: bool) -> Cluster:
    by_kind = collector.by_kind
    classes: list[PriorityClass] = [
        convert.priority_class_from(o) for o in by_kind[Kind.PRIORITY_CLASS]
    ]
    priorities = {pc.name: pc for pc in classes}
    nodes: list[Node] = [convert.node_from(o) for o in by_kind[Kind.NODE]]
    if not nodes:
        raise SnapshotError("the snapshot has no nodes")
    namespaces: list[Namespace] = [convert.namespace_from(o) for o in by_kind[Kind.NAMESPACE]]
    budgets: list[DisruptionBudget] = [
        convert.budget_from(o) for o in by_kind[Kind.POD_DISRUPTION_BUDGET]
    ]
    node_names = {node.name for node in nodes}
    pods: list[Pod] = []
    for raw in by_kind[Kind.POD]:
        pod = convert.pod_from(raw, priorities)
        if pod is None:
            continue
        if pod.node_name is not None and pod.node_name not in node_names:
            message = (
                f"pods/{pod.key}: spec.nodeName: node {pod.node_name!r} is not in the snapshot"
            )
            if strict_nodes:
                raise SnapshotError(message)
            logger.warning("%s", message)
        pods.append(pod)
    return Cluster(
        nodes=tuple(nodes),
        pods=tuple(mark_unknown_namespace_selectors(pods, namespaces)),
        budgets=tuple(budgets),
        priority_classes=tuple(classes),
        namespaces=tuple(namespaces),
    )


def cluster_from_objects(
    objects: Iterable[Mapping[str, Any]], *, source: str = "input", strict_nodes: bool = True
) -> Cluster:
    """A Cluster from raw objects (Lists are flattened, other kinds skipped).

    ``strict_nodes=False`` keeps, with a warning, pods bound to nodes missing from the objects,
    for live reads where a node can vanish between two list calls; snapshots are strict.
    """
    with gc_paused():
        collector = _Collector()
        for obj in objects:
            for item in _objects(obj, source):
                collector.add(item, source)
        return _build(collector, strict_nodes=strict_nodes)


def load_snapshot(paths: Sequence[str | Path]) -> Cluster:
    """A Cluster from snapshot files (JSON or YAML); SnapshotError names the file or object."""
    if isinstance(paths, str | Path):  # a lone path is a common slip; don't iterate its characters
        paths = [paths]
    if not paths:
        raise SnapshotError("no snapshot files given")
    with gc_paused():
        collector = _Collector()
        for raw_path in paths:
            path = Path(raw_path)
            source = str(path)
            for document in _parse_file(path):
                for item in _objects(document, source):
                    collector.add(item, source)
        cluster = _build(collector, strict_nodes=True)
    logger.debug(
        "snapshot: %d nodes, %d pods, %d budgets, %d priority classes, %d namespaces",
        len(cluster.nodes),
        len(cluster.pods),
        len(cluster.budgets),
        len(cluster.priority_classes),
        len(cluster.namespaces),
    )
    return cluster
