"""kube-scheduler's four extender verbs: parse, ask, answer; no logic here.

Each verb is a function from the service and the raw request body to a ``Reply`` (status and JSON
bytes), served under ``/scheduler`` by ``api/extender.py``'s bare ASGI app rather than as FastAPI
routes: kube-scheduler calls filter and prioritize once per pod, inside its one-pod-at-a-time
scheduling cycle, and FastAPI's per-request machinery (request object, dependency solving, exit
stacks, response class) cost about 100 µs of CPU per call in process, more than the verb itself.
Bad bodies raise ``BadBody`` and become 422 with a one-line ``detail``, as FastAPI's would.

filter and prioritize answer from the store's in-memory accounting and never wait on anything (no
thread hop); bind calls the API server and so runs in the thread pool, where several binds can
overlap as kube-scheduler's binding goroutines do. Bodies are parsed and answers written with
orjson (``schemas.py`` describes them; filter and prioritize check kube-scheduler's usual body by
hand and fall back to the model for anything else).

prioritize lists only the nodes that score above 0. kube-scheduler adds an extender's score to
the nodes it names and nothing to the others, so leaving out a 0 changes no node's total; but it
decodes every entry (reflective JSON, an allocation per name) and builds a map entry per node
in its scheduling cycle, the one loop that runs a pod at a time. On a roomy cluster most nodes
score 0 (the pod leaves them nearly empty) and the answer shrinks from one entry per node to a
handful.

When the state is not synced yet, filter answers with its ``Error`` field (kube-scheduler then
retries the pod, or skips the extender if it is ``ignorable``) and prioritize with 503 (its errors
are always ignored): no verb answers from a half-listed cluster.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from scheduler_ext.api import schemas
from scheduler_ext.api.deps import Service
from scheduler_ext.api.errors import describe
from scheduler_ext.cluster.store import demand_of
from scheduler_ext.errors import SnapshotError
from scheduler_ext.execution.binder import bind_pod
from scheduler_ext.planning import scoring

logger = logging.getLogger(__name__)

NOT_SYNCED = "scheduler-ext: cluster state not synced yet"


@dataclass(frozen=True)
class Reply:
    """A verb's answer: HTTP status and the JSON body."""

    status: int
    body: bytes


class BadBody(Exception):
    """The request body is not what the verb takes: 422 with this one line as ``detail``."""


def _ok(payload: object) -> Reply:
    return Reply(200, orjson.dumps(payload))


_PLAIN_NAMES = re.compile(r"[a-z0-9.\-\n]*")
"""Node names as Kubernetes allows them (DNS subdomains): nothing to escape in JSON."""


_SCORE_TAILS = {score: f'","Score":{score}}},{{"Host":"' for score in range(scoring.MAX_SCORE + 1)}
"""What follows a node name in the HostPriorityList, up to the next name, per score."""


def host_priorities(names: list[str], scores: list[int]) -> bytes:
    """The bare HostPriorityList. For plain names it is joined from the names and one of eleven
    precomputed tails per score, all in C (no per-node Python work, no 5,000 dicts to build);
    orjson writes it otherwise."""
    if names and _PLAIN_NAMES.fullmatch("\n".join(names)):
        parts: list[str] = [""] * (2 * len(names))
        parts[0::2] = names
        try:
            parts[1::2] = map(_SCORE_TAILS.__getitem__, scores)
        except KeyError:  # a score outside 0..10 (never): let orjson write what there is
            pass
        else:
            parts[-1] = f'","Score":{scores[-1]}}}]'
            return ('[{"Host":"' + "".join(parts)).encode()
    return orjson.dumps([{"Host": n, "Score": s} for n, s in zip(names, scores, strict=True)])


def _filter_answer(
    *,
    names: list[str] | None = None,
    nodes: list[dict[str, Any]] | None = None,
    failed: dict[str, str] | None = None,
    error: str = "",
) -> Reply:
    return _ok(
        {
            "Nodes": None if nodes is None else {"metadata": {}, "items": nodes},
            "NodeNames": names,
            "FailedNodes": failed,
            "FailedAndUnresolvableNodes": None,
            "Error": error,
        }
    )


def _decode(body: bytes) -> Any:
    if not body.strip():
        raise BadBody("body: a JSON object is required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON: {exc}") from None


_M = TypeVar("_M", bound=BaseModel)


def _model(model: type[_M], body: bytes) -> _M:
    data = _decode(body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadBody(describe(exc)) from None


class _Args:
    """The parts of ``ExtenderArgs`` the verbs read: the raw Pod, the node names, and the Node
    objects when kube-scheduler sent them (no node cache)."""

    __slots__ = ("names", "nodes", "pod")

    def __init__(
        self, pod: dict[str, Any], names: list[str], nodes: list[dict[str, Any]] | None
    ) -> None:
        self.pod = pod
        self.names = names
        self.nodes = nodes


def _extender_args(body: bytes) -> _Args:
    """The body of filter and prioritize, parsed with orjson.

    kube-scheduler's usual body (``nodeCacheCapable: true``: a Pod object and a list of names,
    ``Nodes`` null) is checked by hand: the Pod stays the decoded dict, nothing of 5,000 names is
    copied. Anything else goes through the ``ExtenderArgs`` model, which names the bad field.
    """
    data = _decode(body)
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
                return _Args(pod, names, None)
    try:
        args = schemas.ExtenderArgs.model_validate(data)
    except ValidationError as exc:
        raise BadBody(describe(exc)) from None
    names, nodes = _nodes_of(args)
    return _Args(args.pod, names, nodes)


def _nodes_of(args: schemas.ExtenderArgs) -> tuple[list[str], list[dict[str, Any]] | None]:
    """Node names, and the full Node objects when kube-scheduler sent them (no node cache)."""
    if args.node_names is not None:
        return args.node_names, None
    if args.nodes is None:
        raise BadBody("one of NodeNames (nodeCacheCapable: true) or Nodes is required")
    items = args.nodes.items or []
    names = [_metadata(item, "name", f"Nodes.items[{i}]") for i, item in enumerate(items)]
    return names, items


def _metadata(obj: dict[str, Any], field: str, where: str) -> str:
    """``obj.metadata.<field>``, a non-empty string, else BadBody naming ``where``."""
    meta = obj.get("metadata")
    value = meta.get(field) if isinstance(meta, dict) else None
    if not isinstance(value, str) or not value:
        raise BadBody(f"{where}.metadata.{field}: required")
    return value


def _demand(service: Service, raw_pod: dict[str, Any]) -> dict[str, int] | None:
    try:
        pod = service.pods.pod_of(raw_pod)
    except SnapshotError as exc:
        raise BadBody(f"Pod: {exc}") from None
    return demand_of(pod) if pod is not None else None


async def filter_nodes(service: Service, body: bytes) -> Reply:
    metrics = service.metrics
    with metrics.time_verb("filter"):
        args = _extender_args(body)
        names, nodes = args.names, args.nodes
        demand = _demand(service, args.pod)
        if not service.store.synced:
            metrics.verb_error("filter", "not_synced")
            return _filter_answer(error=NOT_SYNCED)
        try:
            store = service.store
            if demand is None or not store.short_resources(demand):
                # A finished pod holds nothing; else every known node has room (the usual case,
                # settled without a loop over 5,000 nodes): no reason to reject any node.
                passed, failed = names, dict[str, str]()
            else:
                passed, failed = scoring.filter_nodes(demand, names, store.room(names))
        except Exception as exc:  # the protocol's way to report a failure is the Error field
            logger.exception("filter failed")
            metrics.verb_error("filter", "internal")
            return _filter_answer(error=f"scheduler-ext: internal error: {exc}")
        if nodes is None:
            return _filter_answer(names=passed, failed=failed)
        kept = set(passed)
        items = [node for node, name in zip(nodes, names, strict=True) if name in kept]
        return _filter_answer(nodes=items, failed=failed)


async def prioritize_nodes(service: Service, body: bytes) -> Reply:
    metrics = service.metrics
    with metrics.time_verb("prioritize"):
        args = _extender_args(body)
        names = args.names
        demand = _demand(service, args.pod)
        if not service.store.synced:
            metrics.verb_error("prioritize", "not_synced")
            return Reply(503, orjson.dumps({"detail": NOT_SYNCED}))
        if demand is None:
            return Reply(200, b"[]")
        try:
            store = service.store
            every = store.node_columns(demand)
            hosts = None if every is None else scoring.scoring_hosts(demand, names, every)
            if hosts is None:  # a quantity too large for exact float64: the per-node loop
                scores = scoring.prioritize_nodes(demand, names, store.room(names))
                hosts = list(compress(names, scores)), list(filter(None, scores))
        except Exception:  # prioritize errors are ignored by kube-scheduler: score nothing
            logger.exception("prioritize failed")
            metrics.verb_error("prioritize", "internal")
            return Reply(200, b"[]")
        return Reply(200, host_priorities(*hosts))


async def bind(service: Service, body: bytes) -> Reply:
    metrics = service.metrics
    with metrics.time_verb("bind"):
        args = _model(schemas.ExtenderBindingArgs, body)
        client = service.client
        if client is None:
            error = "scheduler-ext: this service has no API access to bind with"
        else:
            try:
                error = await run_in_threadpool(
                    bind_pod,
                    client,
                    service.store,
                    service.pods,
                    namespace=args.pod_namespace,
                    name=args.pod_name,
                    uid=args.pod_uid,
                    node=args.node,
                )
            except Exception as exc:
                logger.exception("bind failed")
                error = f"scheduler-ext: internal error: {exc}"
        metrics.binds.labels("ok" if not error else "error").inc()
        if error:
            metrics.verb_error("bind", "bind_failed")
        return _ok({"Error": error})


def _meta_victims(pods: Sequence[dict[str, Any]], node: str) -> list[dict[str, str]]:
    return [
        {"UID": _metadata(pod, "uid", f"NodeNameToVictims[{node}].Pods[{i}]")}
        for i, pod in enumerate(pods)
    ]


async def preempt(service: Service, body: bytes) -> Reply:
    """For now kube-scheduler's candidates go back unchanged (as UIDs, which it always reads)."""
    with service.metrics.time_verb("preempt"):
        args = _model(schemas.ExtenderPreemptionArgs, body)
        result: dict[str, dict[str, Any]] = {}
        if args.node_name_to_meta_victims is not None:
            for node, meta in args.node_name_to_meta_victims.items():
                if meta is not None:
                    result[node] = {
                        "Pods": [{"UID": p.uid} for p in meta.pods or []],
                        "NumPDBViolations": meta.num_pdb_violations,
                    }
        elif args.node_name_to_victims is not None:
            for node, victims in args.node_name_to_victims.items():
                if victims is not None:
                    result[node] = {
                        "Pods": _meta_victims(victims.pods or [], node),
                        "NumPDBViolations": victims.num_pdb_violations,
                    }
        return _ok({"NodeNameToMetaVictims": result})


Verb = Callable[[Service, bytes], Awaitable[Reply]]

VERBS: dict[str, Verb] = {
    "filter": filter_nodes,
    "prioritize": prioritize_nodes,
    "preempt": preempt,
    "bind": bind,
}
"""Path segment under ``/scheduler`` -> the verb (kube-scheduler's ``<verb>Verb`` settings)."""
