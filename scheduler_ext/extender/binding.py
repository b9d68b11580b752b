"""The bind verb's work: check the request, POST the pod's Binding, then count the pod at once.

The bind verb acts with the service's own credentials, so it binds only what kube-scheduler could
legitimately ask, whoever sent the request: a pod the watched state knows as Pending (not bound,
not terminating), of a scheduler this service serves, with the UID of that pod (never empty: the
UID is the Binding's precondition, which keeps a recreated pod of the same name from being bound
in its place), onto a node the watched state knows (a Binding to a node that does not exist is
accepted by the API server, and PodGC force-deletes the pod a minute later). Names are checked
against the API server's rules before anything is sent. Anything else is refused with one line.

kube-scheduler assumes a pod on its node before binding and lets the binding run in its own
goroutine, so the next filter call can arrive before the watch has shown the pod bound. Without
counting it ("assuming", as kube-scheduler does), the service would offer the same room twice.
kube-scheduler learns of a pod from its own watch, which can be a moment ahead of ours: the bind
waits up to ``wait`` seconds (``cluster.bind_wait_seconds``) for the watched state to show the pod
before refusing.

The plan executor binds through the API server too, and kube-scheduler learns of those binds only
from its own watch: in that moment its cache shows the room still free, and the filter answered
earlier. So the bind is checked once more against the room the watched state leaves on the node
(free room minus what running plans hold there for other pods; a pod room is held for goes only
where it is held, as filter says), and minus the binds to it still in flight, unless the pod is
counted there already (the executor bound it first: the API server answers that).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.errors import BindError
from scheduler_ext.extender.filtering import REASON_PREFIX, misfit
from scheduler_ext.names import is_dns_label, is_dns_subdomain, shown

logger = logging.getLogger(__name__)

_ALREADY_ASSIGNED = re.compile(r'409\b.*is already assigned to node "([^"]+)"')
"""The API server's 409 to a Binding of a pod already bound (``pods/binding`` in
``pkg/registry/core/pod/storage/storage.go``: "pod x is already assigned to node \"n\"")."""


def already_bound_to(message: str) -> str | None:
    """The node a failed binding's message says the pod is bound to already; None otherwise."""
    found = _ALREADY_ASSIGNED.search(message)
    return found.group(1) if found else None


class BindClient(Protocol):
    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        """Create the pod's Binding; BindError with one line on any failure."""


@dataclass(frozen=True)
class BindRequest:
    namespace: str
    name: str
    uid: str
    node: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class BindOutcome:
    error: str = ""
    """"" on success, else the line for ``ExtenderBindingResult.Error``."""
    refused: bool = False
    """The request was not one kube-scheduler could legitimately make: nothing was sent."""
    conflict: bool = False
    """The pod was bound to another node already (by the plan executor, or another binder)."""
    already: bool = False
    """The pod was bound to the asked node already (by the plan executor): a success."""


def _malformed(request: BindRequest) -> str | None:
    if not is_dns_label(request.namespace):
        return f"PodNamespace {shown(request.namespace)!r} is not a valid namespace name"
    if not is_dns_subdomain(request.name):
        return f"PodName {shown(request.name)!r} is not a valid pod name"
    if not is_dns_subdomain(request.node):
        return f"Node {shown(request.node)!r} is not a valid node name"
    if not request.uid:
        return "PodUID is required"
    return None


def refusal(
    request: BindRequest, store: ClusterStore, schedulers: Collection[str], wait: float
) -> str | None:
    """Why ``request`` is not a bind kube-scheduler could legitimately ask for; None if it is."""
    malformed = _malformed(request)
    if malformed is not None:
        return malformed
    pod = store.wait_for_pod(request.key, wait)
    if pod is None:
        return f"pod {request.key} is not known to the watched cluster state"
    if pod.uid != request.uid:
        return f"pod {request.key} has another UID than {shown(request.uid)!r}"
    if pod.node_name is not None:
        return f"pod {request.key} is already bound to {pod.node_name}"
    if pod.terminating:
        return f"pod {request.key} is terminating"
    if pod.scheduler_name not in schedulers:
        return (
            f"pod {request.key} is scheduled by {shown(pod.scheduler_name)!r}, "
            "not by a scheduler this service serves"
        )
    if not store.has_node(request.node):
        return f"node {request.node} is not known to the watched cluster state"
    return _no_room(request, store)[0]


def _no_room(
    request: BindRequest, store: ClusterStore
) -> tuple[str | None, Mapping[str, int] | None]:
    """(why the pod does not fit the room the watched state leaves on the node, minus the binds
    in flight there; the demand to count in flight): (None, None) when the pod is counted
    somewhere already or the node has no accounting yet. Final under ``store.binding``."""
    if request.key in store.assumed():
        return None, None
    demand = store.demand(request.key, request.uid)
    [room] = store.room([request.node])
    if demand is None or room is None:
        return None, None
    pod = store.pod(request.key)
    owner = pod.owner.uid if pod is not None and pod.owner is not None else ""
    holds = store.holds_for(request.uid, owner, demand)
    if holds.pinned is not None and request.node not in holds.pinned:
        where = ", ".join(sorted(holds.pinned))
        return f"pod {request.key} has room held for it on {where}, not on {request.node}", None
    against = dict(holds.against.get(request.node, {}))
    for key, node, charge in list(store.binds_in_flight.values()):  # a copy: read unlocked too
        if node == request.node and key != request.key:  # the same pod twice: the API decides
            for resource, amount in charge.items():
                against[resource] = against.get(resource, 0) + amount
    free = {r: amount - against.get(r, 0) for r, amount in room[1].items()}
    short = misfit(demand, free)
    if short is None:
        return None, demand
    reason = short.removeprefix(REASON_PREFIX)
    return f"pod {request.key} does not fit {request.node} now: {reason}", None


def bind_pod(
    client: BindClient,
    store: ClusterStore,
    request: BindRequest,
    *,
    schedulers: Collection[str],
    wait: float,
) -> BindOutcome:
    """Check, bind, and count the pod on its node.

    The room check and the bind's charge in flight are one step under ``store.binding``, and
    so are dropping that charge and assuming the pod once the API server accepted the Binding;
    the POST itself runs outside the lock, so that binds to different room overlap as
    kube-scheduler's binding goroutines send them (held across the POST, the lock made every
    bind wait for the API server's answers to all the binds before it)."""
    refused = refusal(request, store, schedulers, wait)
    if refused is not None:
        logger.warning("refused to bind %s: %s", shown(request.key), refused)
        return BindOutcome(f"scheduler-ext: {refused}", refused=True)
    token = object()
    with store.binding:  # the room check again, atomic with counting this bind in flight
        refused, charge = _no_room(request, store)
        if refused is not None:
            logger.warning("refused to bind %s: %s", shown(request.key), refused)
            return BindOutcome(f"scheduler-ext: {refused}", refused=True)
        if charge is not None:
            store.binds_in_flight[token] = (request.key, request.node, charge)
    try:
        outcome = _bind(client, request)
    except BaseException:
        with store.binding:
            store.binds_in_flight.pop(token, None)
        raise
    with store.binding:  # in flight -> assumed, in one step
        store.binds_in_flight.pop(token, None)
        if outcome.error or outcome.already:
            return outcome
        pod = store.pod(request.key)
        if pod is not None and pod.uid == request.uid:
            store.assume(pod, request.node)
    logger.info("bound %s to %s", request.key, request.node)
    return outcome


def _bind(client: BindClient, request: BindRequest) -> BindOutcome:
    """POST the Binding; a 409 saying the pod is bound to the asked node already is a success."""
    try:
        client.bind(request.namespace, request.name, request.uid, request.node)
    except BindError as exc:
        bound_to = already_bound_to(str(exc))
        if bound_to == request.node:  # bound there first (by the plan executor): the same outcome
            logger.info("%s was already bound to %s", request.key, request.node)
            return BindOutcome(already=True)
        if bound_to is not None:
            logger.warning("%s is already bound to %s, not %s", request.key, bound_to, request.node)
            return BindOutcome(
                f"scheduler-ext: pod {request.key} is already bound to {bound_to}", conflict=True
            )
        logger.warning("binding %s to %s failed: %s", request.key, request.node, shown(exc, 1000))
        return BindOutcome(str(exc))
    return BindOutcome()
