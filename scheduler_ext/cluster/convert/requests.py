"""What a pod takes from its node: effective resource requests (and host ports), as kube-scheduler
computes them.

The planner must see the requests the scheduler sees, or it promises placements the scheduler
refuses. This module reproduces ``k8s.io/component-helpers/resource.PodRequests``: API defaulting
(a limit without a request requests its limit), regular containers plus restartable init
containers (sidecars), classic init containers each beside the sidecars before them, pod-level
resources, overhead; amounts summed exactly in nanos and rounded once, as Go sums ``Quantity``
values before ``MilliValue``/``Value``. Host ports are read in the same pass over the containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler_ext.cluster import quantity
from scheduler_ext.cluster.convert.reading import Cache, Reader
from scheduler_ext.domain import CPU, PODS, HostPort, ResourceList

# PodLevelResources: the pod-level requests that replace the containers' aggregate.
POD_LEVEL_RESOURCES = frozenset({CPU, "memory"})

_Key = tuple[Any, ...]
_ROUNDED: Cache[tuple[tuple[str, int], ...], ResourceList] = Cache(100_000)
# Containers of one Deployment share resources: keyed by an exact frozen copy of the JSON.
_REQUESTS: Cache[_Key, Mapping[str, int]] = Cache(50_000)


def rounded(amounts: Mapping[str, int]) -> ResourceList:
    """Nano amounts to the domain's units: CPU in millicores (MilliValue), the rest by Value."""
    key = tuple(amounts.items())
    cached = _ROUNDED.get(key)
    if cached is not None:
        return cached
    result = ResourceList.of(
        {
            name: quantity.millis_from_nanos(amount)
            if name == CPU
            else quantity.value_from_nanos(amount)
            for name, amount in amounts.items()
        }
    )
    return _ROUNDED.remember(key, result)


def _resources_key(raw: object) -> _Key | None:
    """A cache key for a container's ``resources``, or None if it is unusual (then not cached).

    Only all-string amounts are keyed, so that ``true`` can never hit the entry of ``1``.
    """
    if type(raw) is not dict:
        return None
    key = []
    for section, amounts in raw.items():
        if type(amounts) is not dict:
            return None
        for amount in amounts.values():
            if type(amount) is not str:
                return None
        key.append((section, tuple(amounts.items())))
    return tuple(key)


def _container_requests(
    reader: Reader, container: Mapping[str, Any], path: str
) -> Mapping[str, int]:
    """Requests after API defaulting: a resource with a limit and no request requests its limit.

    The result may be shared: callers must not modify it.
    """
    raw = container.get("resources")
    key = _resources_key(raw)
    if key is not None:
        cached = _REQUESTS.get(key)
        if cached is not None:
            return cached
    resources = reader.mapping(raw, f"{path}.resources")
    requests = reader.resources(resources.get("requests"), f"{path}.resources.requests")
    limits = resources.get("limits")
    if limits:
        for name, amount in reader.resources(limits, f"{path}.resources.limits").items():
            requests.setdefault(name, amount)
    if key is not None:
        _REQUESTS.remember(key, requests)
    return requests


def _add(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        total[name] = total.get(name, 0) + amount


def _max(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        if amount > total.get(name, 0):
            total[name] = amount


def _host_ports_of(
    reader: Reader, container: Mapping[str, Any], path: str, ports: list[HostPort]
) -> None:
    for j, raw in enumerate(reader.items(container.get("ports"), f"{path}.ports")):
        at = f"{path}.ports[{j}]"
        port = reader.mapping(raw, at)
        host_port = reader.integer(port.get("hostPort"), f"{at}.hostPort")
        if host_port > 0:
            ports.append(
                HostPort(
                    port=host_port,
                    protocol=reader.string(port.get("protocol"), f"{at}.protocol") or "TCP",
                    host_ip=reader.string(port.get("hostIP"), f"{at}.hostIP"),
                )
            )


def _pod_level(reader: Reader, spec: Mapping[str, Any], total: dict[str, int]) -> None:
    """Pod-level requests (PodLevelResources) replace the containers' cpu/memory."""
    pod_resources = reader.mapping(spec.get("resources"), "spec.resources")
    if not pod_resources:
        return
    pod_level = reader.resources(pod_resources.get("requests"), "spec.resources.requests")
    limits = pod_resources.get("limits")
    if limits:
        # API defaulting: a pod-level limit without a pod-level request becomes the request
        # only if no container requests that resource (else the containers' sum stands).
        for name, amount in reader.resources(limits, "spec.resources.limits").items():
            if name not in pod_level and name not in total:
                pod_level[name] = amount
    for name, amount in pod_level.items():
        if name in POD_LEVEL_RESOURCES:
            total[name] = amount


def pod_requests(
    reader: Reader, spec: Mapping[str, Any]
) -> tuple[ResourceList, tuple[HostPort, ...]]:
    """Effective requests (``resource.PodRequests``) and the host ports of all containers.

    Requests follow k8s.io/component-helpers (sidecar-aware since 1.29): regular containers and
    restartable init containers (sidecars) run together and add up; each classic init container
    runs alone beside the sidecars declared before it; the pod needs the larger of the two, per
    resource. Pod-level requests (PodLevelResources) replace cpu/memory; overhead is added last.
    """
    total: dict[str, int] = {}
    ports: list[HostPort] = []
    for i, raw in enumerate(reader.items(spec.get("containers"), "spec.containers")):
        where = f"spec.containers[{i}]"
        container = reader.mapping(raw, where)
        _add(total, _container_requests(reader, container, where))
        if "ports" in container:
            _host_ports_of(reader, container, where, ports)
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for i, raw in enumerate(reader.items(spec.get("initContainers"), "spec.initContainers")):
        where = f"spec.initContainers[{i}]"
        container = reader.mapping(raw, where)
        requests = _container_requests(reader, container, where)
        policy = reader.string(container.get("restartPolicy"), f"{where}.restartPolicy")
        if policy == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            _max(init_peak, sidecars)
        else:
            running = dict(requests)
            _add(running, sidecars)
            _max(init_peak, running)
        if "ports" in container:
            _host_ports_of(reader, container, where, ports)
    _max(total, init_peak)
    _pod_level(reader, spec, total)
    overhead = spec.get("overhead")
    if overhead:
        _add(total, reader.resources(overhead, "spec.overhead"))
    total.pop(PODS, None)
    return rounded(total), tuple(ports)
