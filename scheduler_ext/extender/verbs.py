"""kube-scheduler's four extender verbs: parse the body, apply the rule, write the answer.

Each verb is a function from its dependencies (``VerbDeps``) and the raw request body to a
``Reply`` (status and JSON bytes); it knows nothing of HTTP beyond status codes. ``api/extender.py``
serves them under ``/scheduler`` as a bare ASGI app rather than as FastAPI routes: kube-scheduler
calls filter and prioritize once per pod, inside its one-pod-at-a-time scheduling cycle, and
FastAPI's per-request machinery cost about 100 µs of CPU per call in process, more than the verb
itself. Bad bodies raise ``BadBody`` (``bodies.py``) and become 422 with a one-line ``detail``.

filter and prioritize answer from the store's in-memory accounting and never wait on anything (no
thread hop); bind calls the API server and so runs in a thread pool of its own, where several
binds can overlap as kube-scheduler's binding goroutines do. Answers are written with orjson
(``schemas.py`` describes them).

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

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from itertools import compress
from typing import Any, Protocol

import orjson

from scheduler_ext.cluster import convert
from scheduler_ext.cluster.kinds import DEFAULT_NAMESPACE
from scheduler_ext.cluster.reservations import Holds
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.errors import SnapshotError
from scheduler_ext.extender import filtering, scoring
from scheduler_ext.extender.binding import BindClient, BindOutcome, BindRequest, bind_pod
from scheduler_ext.extender.bodies import BadBody, extender_args, metadata, parse
from scheduler_ext.extender.schemas import ExtenderBindingArgs, ExtenderPreemptionArgs
from scheduler_ext.metrics import Metrics
from scheduler_ext.names import shown

logger = logging.getLogger(__name__)

NOT_SYNCED = "scheduler-ext: cluster state not synced yet"


class VerbDeps(Protocol):
    """What the verbs read: the watched state, metrics, the bind client and who is served."""

    @property
    def store(self) -> ClusterStore: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def scheduler_names(self) -> Collection[str]:
        """The ``schedulerName`` of the pods the bind verb may bind."""

    @property
    def bind_wait_seconds(self) -> float:
        """How long a bind waits for the watch to show its pod."""

    @property
    def client(self) -> BindClient | None:
        """None when the service has no API access (tests of the read-only verbs)."""

    @property
    def prioritize_rule(self) -> scoring.Rule:
        """How prioritize scores (setting ``prioritize_rule``)."""

    def defers_preemption(self, key: str, uid: str) -> bool:
        """Whether kube-scheduler's own preemption for this pod waits for the planner (enforce
        mode: ``execution/preemption.py``); always False in dry-run."""


@dataclass(frozen=True)
class Reply:
    """A verb's answer: HTTP status and the JSON body."""

    status: int
    body: bytes


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
    unresolvable: dict[str, str] | None = None,
    error: str = "",
) -> Reply:
    return _ok(
        {
            "Nodes": None if nodes is None else {"metadata": {}, "items": nodes},
            "NodeNames": names,
            "FailedNodes": failed,
            "FailedAndUnresolvableNodes": unresolvable or None,
            "Error": error,
        }
    )


def _identity(deps: VerbDeps, raw_pod: dict[str, Any]) -> tuple[str, str]:
    """(the pod's UID, its controller's UID): the watched state's copy when it knows the pod,
    else the body's. Read only while a plan holds room."""
    meta = raw_pod.get("metadata")
    if not isinstance(meta, dict):
        return "", ""
    name, uid = meta.get("name"), meta.get("uid")
    if not isinstance(uid, str):
        return "", ""
    pod = deps.store.pod(f"{meta.get('namespace') or DEFAULT_NAMESPACE}/{name}")
    if pod is None or pod.uid != uid:
        try:
            pod = convert.pod_from(raw_pod)
        except SnapshotError:
            return uid, ""
    owner = pod.owner.uid if pod is not None and pod.owner is not None else ""
    return uid, owner


def _holds(deps: VerbDeps, raw_pod: dict[str, Any], demand: dict[str, int]) -> Holds:
    uid, owner = _identity(deps, raw_pod)
    return deps.store.holds_for(uid, owner, demand)


def _demand(deps: VerbDeps, raw_pod: dict[str, Any]) -> dict[str, int] | None:
    """The pod's demand on a node: the watched state's when it knows the pod (same namespace,
    name and UID), else the body's own, used for this answer only. A body never decides the
    answer for another: nothing from a body is remembered."""
    meta = raw_pod.get("metadata")
    if isinstance(meta, dict):
        name, uid = meta.get("name"), meta.get("uid")
        if isinstance(name, str) and isinstance(uid, str) and uid:
            key = f"{meta.get('namespace') or DEFAULT_NAMESPACE}/{name}"
            known = deps.store.demand(key, uid)
            if known is not None:
                return known
    try:
        pod = convert.pod_from(raw_pod)
    except SnapshotError as exc:
        raise BadBody(f"Pod: {exc}") from None
    return pod.demand() if pod is not None else None


def _verdicts(
    store: ClusterStore, demand: dict[str, int], names: list[str]
) -> tuple[list[str], dict[str, str]]:
    """(passed, failed) of filter: every known node having room (the usual case) is settled with
    one ``min`` per resource, without a loop over 5,000 nodes."""
    if not store.short_resources(demand):
        return names, {}
    verdicts = filtering.filter_columns(demand, names, store.node_columns(demand))
    if verdicts is None:
        verdicts = filtering.filter_by_room(demand, names, store.room(names))
    return verdicts


async def answer_filter(deps: VerbDeps, body: bytes) -> Reply:
    metrics = deps.metrics
    with metrics.time_verb("filter"):
        args = extender_args(body)
        names, nodes = args.names, args.nodes
        demand = _demand(deps, args.pod)
        if not deps.store.synced:
            metrics.verb_error("filter", "not_synced")
            return _filter_answer(error=NOT_SYNCED)
        try:
            unresolvable: dict[str, str] = {}
            if demand is None:  # a finished pod holds nothing: no reason to reject any node
                passed, failed = names, dict[str, str]()
            else:
                passed, failed = _verdicts(deps.store, demand, names)
                if deps.store.holds_reservations:  # a plan runs: its held room (else free)
                    holds = _holds(deps, args.pod, demand)
                    passed, more, unresolvable = filtering.apply_holds(
                        demand, passed, holds, deps.store.room
                    )
                    failed.update(more)
        except Exception as exc:  # the protocol's way to report a failure is the Error field
            logger.exception("filter failed")
            metrics.verb_error("filter", "internal")
            return _filter_answer(error=f"scheduler-ext: internal error: {shown(exc)}")
        if nodes is None:
            return _filter_answer(names=passed, failed=failed, unresolvable=unresolvable)
        kept = set(passed)
        items = [node for node, name in zip(nodes, names, strict=True) if name in kept]
        return _filter_answer(nodes=items, failed=failed, unresolvable=unresolvable)


async def answer_prioritize(deps: VerbDeps, body: bytes) -> Reply:
    metrics = deps.metrics
    with metrics.time_verb("prioritize"):
        args = extender_args(body)
        names = args.names
        demand = _demand(deps, args.pod)
        if not deps.store.synced:
            metrics.verb_error("prioritize", "not_synced")
            return Reply(503, orjson.dumps({"detail": NOT_SYNCED}))
        if demand is None:
            return Reply(200, b"[]")
        try:
            store = deps.store
            rule = deps.prioritize_rule
            columns = store.node_columns(scoring.rule_resources(rule, demand))
            hosts = scoring.rule_hosts(rule, demand, names, columns)
            if hosts is None:  # a quantity too large for exact float64: the per-node loop
                scores = scoring.prioritize_nodes(demand, names, store.room(names))
                hosts = list(compress(names, scores)), list(filter(None, scores))
        except Exception:  # prioritize errors are ignored by kube-scheduler: score nothing
            logger.exception("prioritize failed")
            metrics.verb_error("prioritize", "internal")
            return Reply(200, b"[]")
        return Reply(200, host_priorities(*hosts))


async def answer_bind(deps: VerbDeps, body: bytes) -> Reply:
    metrics = deps.metrics
    with metrics.time_verb("bind"):
        args = parse(ExtenderBindingArgs, body)
        request = BindRequest(args.pod_namespace, args.pod_name, args.pod_uid, args.node)
        client = deps.client
        if client is None:
            outcome = BindOutcome("scheduler-ext: this service has no API access to bind with")
        else:
            try:
                outcome = await asyncio.get_running_loop().run_in_executor(
                    _bind_threads(),
                    partial(
                        bind_pod,
                        client,
                        deps.store,
                        request,
                        schedulers=deps.scheduler_names,
                        wait=deps.bind_wait_seconds,
                    ),
                )
            except Exception as exc:
                logger.exception("bind failed")
                outcome = BindOutcome(f"scheduler-ext: internal error: {shown(exc)}")
        result = "refused" if outcome.refused else "error" if outcome.error else "ok"
        metrics.binds.labels(result).inc()
        if outcome.error:
            reason = "bind_refused" if outcome.refused else "bind_failed"
            metrics.verb_error("bind", "bind_conflict" if outcome.conflict else reason)
        return _ok({"Error": outcome.error})


BIND_THREADS = 40
"""Binds that may wait on the API server at once (kube-scheduler binds in goroutines of its
own, so several overlap); as many as Starlette's thread pool had."""


@cache
def _bind_threads() -> ThreadPoolExecutor:
    """The bind verb's threads, made at the first bind. asyncio's own executor hop rather than
    Starlette's ``run_in_threadpool`` (anyio's capacity limiter, cancel scope and token lookups
    around the same hop): about a third of the bind verb's own CPU."""
    return ThreadPoolExecutor(BIND_THREADS, thread_name_prefix="bind")


def _meta_victims(pods: Sequence[dict[str, Any]], node: str) -> list[dict[str, str]]:
    return [
        {"UID": metadata(pod, "uid", f"NodeNameToVictims[{node}].Pods[{i}]")}
        for i, pod in enumerate(pods)
    ]


async def answer_preempt(deps: VerbDeps, body: bytes) -> Reply:
    """kube-scheduler's candidates go back unchanged (as UIDs, which it always reads), except for a
    pod a running plan holds room for, or one whose preemption waits for the planner (enforce
    mode): no candidate at all (an empty map: kube-scheduler deletes nothing and keeps its
    nomination), since the plan makes its room by moves of its own."""
    with deps.metrics.time_verb("preempt"):
        args = parse(ExtenderPreemptionArgs, body)
        result: dict[str, dict[str, Any]] = {}
        if deps.store.holds_reservations and _held_for(deps, args.pod):
            return _ok({"NodeNameToMetaVictims": result})
        uid, _ = _identity(deps, args.pod)
        if uid and deps.defers_preemption(_key(args.pod), uid):
            deps.metrics.preemptions_deferred.inc()
            return _ok({"NodeNameToMetaVictims": result})
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


def _held_for(deps: VerbDeps, raw_pod: object) -> bool:
    """Whether some running plan holds room for this pod."""
    if not isinstance(raw_pod, dict):
        return False
    uid, owner = _identity(deps, raw_pod)
    demand = deps.store.demand(_key(raw_pod), uid) or {}
    return deps.store.holds_for(uid, owner, demand).pinned is not None


def _key(raw_pod: dict[str, Any]) -> str:
    meta = raw_pod.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return f"{meta.get('namespace') or DEFAULT_NAMESPACE}/{meta.get('name')}"


Verb = Callable[[VerbDeps, bytes], Awaitable[Reply]]

VERBS: dict[str, Verb] = {
    "filter": answer_filter,
    "prioritize": answer_prioritize,
    "preempt": answer_preempt,
    "bind": answer_bind,
}
"""Path segment under ``/scheduler`` -> the verb (kube-scheduler's ``<verb>Verb`` settings)."""
