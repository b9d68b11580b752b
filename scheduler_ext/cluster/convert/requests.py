"""What a pod takes from its node: effective resource requests (and host ports), as kube-scheduler
computes them.

The planner must see the requests the scheduler sees, or it promises placements the scheduler
refuses. This module reproduces ``k8s.io/component-helpers/resource.PodRequests`` as
kube-scheduler v1.36 calls it: API defaulting (a limit without a request requests its limit;
pod-level defaulting), regular containers plus restartable init containers (sidecars), classic
init containers each beside the sidecars before them, in-place resizes reported in the status,
pod-level resources (cpu, memory, hugepages), overhead. Each quantity arrives rounded up to a
milli-unit (``Reader.resources``, as API defaulting stores it); sums are exact and converted once,
as Go sums ``Quantity`` values before ``MilliValue``/``Value``. Host ports are read in the same
pass over the containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler_ext.cluster import quantity
from scheduler_ext.cluster.convert.reading import EMPTY, Cache, Reader
from scheduler_ext.domain import CPU, PODS, HostPort, ResourceList

# PodLevelResources: the pod-level requests that replace the containers' aggregate
# (``supportedPodLevelResources``, plus every ``hugepages-*`` size).
POD_LEVEL_RESOURCES = frozenset({CPU, "memory"})
HUGEPAGES_PREFIX = "hugepages-"

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


def is_pod_level_resource(name: str) -> bool:
    """``IsSupportedPodLevelResource`` (k8s.io/component-helpers/resource/helpers.go): cpu,
    memory and every ``hugepages-*`` size."""
    return name in POD_LEVEL_RESOURCES or name.startswith(HUGEPAGES_PREFIX)


class _Resized:
    """What the kubelet reports of in-place resizes (``status``), read as
    ``AggregateContainerRequests`` reads it: the container statuses (regular and init, one map
    by name) that have ``resources`` set (``cs.Resources != nil``), each giving the actuated
    requests (``resources.requests``) and the allocated ones (``allocatedResources``); and
    whether the last resize is infeasible (a ``PodResizePending`` condition with reason
    ``Infeasible``, ``IsPodResizeInfeasible``). The deprecated ``status.resize`` is not read: in
    v1.36 nothing on kube-scheduler's path reads it any more.

    Statuses are parsed only when they differ from the container's spec: a v1.36 kubelet reports
    them for every running container, almost always equal to the spec."""

    __slots__ = ("_infeasible", "entries", "reader", "status")

    def __init__(self, reader: Reader, status: Mapping[str, Any]) -> None:
        self.reader = reader
        self.status = status
        self._infeasible: bool | None = None
        self.entries: dict[str, tuple[Mapping[str, Any], str]] = {}
        for section in ("containerStatuses", "initContainerStatuses"):
            path = f"status.{section}"
            for i, raw in enumerate(reader.items(status.get(section), path)):
                where = f"{path}[{i}]"
                entry = reader.mapping(raw, where)
                if entry.get("resources") is not None:
                    name = reader.string(entry.get("name"), f"{where}.name")
                    self.entries[name] = (entry, where)

    @property
    def infeasible(self) -> bool:
        if self._infeasible is None:
            self._infeasible = False
            conditions = self.reader.items(self.status.get("conditions"), "status.conditions")
            for i, raw in enumerate(conditions):
                condition = self.reader.mapping(raw, f"status.conditions[{i}]")
                if condition.get("type") == "PodResizePending":
                    self._infeasible = condition.get("reason") == "Infeasible"
                    break
        return self._infeasible

    def effective(
        self, spec: Mapping[str, int], actuated: Mapping[str, int], allocated: Mapping[str, int]
    ) -> Mapping[str, int]:
        """``determineEffectiveRequests``: the larger of spec, actuated and allocated per
        resource; of actuated and allocated only when the resize is infeasible."""
        result = {} if self.infeasible else dict(spec)
        _max(result, actuated)
        _max(result, allocated)
        return result

    def of(
        self, name: str, spec: Mapping[str, int], container: Mapping[str, Any]
    ) -> Mapping[str, int]:
        """The effective requests of container ``name`` whose spec requests are ``spec``."""
        found = self.entries.get(name)
        if found is None:
            return spec
        entry, where = found
        reported, allocated_raw = entry["resources"], entry.get("allocatedResources")
        resources = container.get("resources")
        raw_spec = resources.get("requests") if type(resources) is dict else None
        if (
            raw_spec is not None
            and type(reported) is dict
            and reported.get("requests") == raw_spec
            and allocated_raw == raw_spec
        ):
            return spec  # the JSON says nothing was resized
        reader = self.reader
        reported = reader.mapping(reported, f"{where}.resources")
        actuated = reader.resources(reported.get("requests"), f"{where}.resources.requests")
        allocated = reader.resources(allocated_raw, f"{where}.allocatedResources")
        if actuated == spec and allocated == spec:
            return spec
        return self.effective(spec, actuated, allocated)


def _resized(reader: Reader, status: Mapping[str, Any]) -> _Resized | None:
    """The status's resize facts, or None when it reports no resources (pending pods)."""
    if not status or not (
        status.get("containerStatuses")
        or status.get("initContainerStatuses")
        or status.get("resources") is not None
    ):
        return None
    return _Resized(reader, status)


def _aggregate(
    containers: list[tuple[Mapping[str, int], bool]],
    init_containers: list[tuple[Mapping[str, int], bool]],
) -> dict[str, int]:
    """``AggregateContainerRequests`` over (amounts, restartable) pairs: regular containers and
    restartable init containers (sidecars) run together and add up; each classic init container
    runs alone beside the sidecars declared before it; the pod needs the larger, per resource."""
    total: dict[str, int] = {}
    for amounts, _ in containers:
        _add(total, amounts)
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for amounts, restartable in init_containers:
        if restartable:
            _add(total, amounts)
            _add(sidecars, amounts)
            _max(init_peak, sidecars)
        else:
            running = dict(amounts)
            _add(running, sidecars)
            _max(init_peak, running)
    _max(total, init_peak)
    return total


class _Containers:
    """One pass over ``spec.containers`` and ``spec.initContainers``: each container's requests
    after API defaulting, whether it restarts (a sidecar), its name and its raw JSON (for the
    limits pod-level defaulting needs), and the host ports of all of them."""

    __slots__ = ("init", "ports", "regular")

    def __init__(self, reader: Reader, spec: Mapping[str, Any]) -> None:
        self.ports: list[HostPort] = []
        self.regular = self._read(reader, spec, "containers")
        self.init = self._read(reader, spec, "initContainers")

    def _read(
        self, reader: Reader, spec: Mapping[str, Any], section: str
    ) -> list[tuple[Mapping[str, int], bool, str, Mapping[str, Any], str]]:
        result = []
        for i, raw in enumerate(reader.items(spec.get(section), f"spec.{section}")):
            where = f"spec.{section}[{i}]"
            container = reader.mapping(raw, where)
            restartable = section == "initContainers" and (
                reader.string(container.get("restartPolicy"), f"{where}.restartPolicy") == "Always"
            )
            name = reader.string(container.get("name"), f"{where}.name")
            requests = _container_requests(reader, container, where)
            result.append((requests, restartable, name, container, where))
            if "ports" in container:
                _host_ports_of(reader, container, where, self.ports)
        return result

    def requests(self, resized: _Resized | None) -> dict[str, int]:
        """``AggregateContainerRequests``; with ``resized``, ``UseStatusResources`` (regular
        containers and sidecars take their effective requests, classic init containers their
        spec)."""
        if resized is None or not resized.entries:
            return _aggregate(
                [(r, False) for r, *_ in self.regular], [(r, s) for r, s, *_ in self.init]
            )
        return _aggregate(
            [(resized.of(name, r, c), False) for r, _, name, c, _ in self.regular],
            [(resized.of(name, r, c) if s else r, s) for r, s, name, c, _ in self.init],
        )

    def limits(self, reader: Reader) -> dict[str, int]:
        """``AggregateContainerLimits`` of the spec (no status), for pod-level defaulting."""

        def limits_of(container: Mapping[str, Any], where: str) -> Mapping[str, int]:
            resources = reader.mapping(container.get("resources"), f"{where}.resources")
            return reader.resources(resources.get("limits"), f"{where}.resources.limits")

        return _aggregate(
            [(limits_of(c, w), False) for *_, c, w in self.regular],
            [(limits_of(c, w), s) for _, s, _, c, w in self.init],
        )


def _pod_level_requests(
    reader: Reader, spec: Mapping[str, Any], containers: _Containers
) -> dict[str, int]:
    """``spec.resources.requests`` after the API server's pod-level defaulting
    (pkg/apis/core/v1/defaults.go, ``SetDefaults_Pod``): first ``defaultHugePagePodLimits``
    (a hugepages size the containers limit and the pod neither requests nor limits is limited at
    the pod level to the containers' aggregate), then ``defaultPodRequests`` (with pod-level
    limits set, a missing cpu/memory request is the containers' aggregate request, and any other
    missing supported request its pod-level limit). The API server aggregates the containers'
    quantities before rounding them; here they are already rounded, so a default taken from them
    can only be larger (by under a milli-unit per container): conservative, never a wrong fit."""
    pod_resources = reader.mapping(spec.get("resources"), "spec.resources")
    requests = reader.resources(pod_resources.get("requests"), "spec.resources.requests")
    limits = reader.resources(pod_resources.get("limits"), "spec.resources.limits")
    if not requests and not limits:
        return requests
    for name, amount in containers.limits(reader).items():
        if name.startswith(HUGEPAGES_PREFIX) and name not in requests:
            limits.setdefault(name, amount)
    if limits:
        for name, amount in containers.requests(None).items():
            # IsOvercommitAllowed: cpu and memory among the supported pod-level resources.
            if name in POD_LEVEL_RESOURCES:
                requests.setdefault(name, amount)
        for name, amount in limits.items():
            if is_pod_level_resource(name):
                requests.setdefault(name, amount)
    return requests


def _apply_pod_level(
    reader: Reader,
    requests: Mapping[str, int],
    status: Mapping[str, Any],
    resized: _Resized | None,
    total: dict[str, int],
) -> None:
    """``PodRequests``: when a supported pod-level request is set (``IsPodLevelRequestsSet``),
    each supported pod-level request replaces the containers' aggregate; with
    ``status.resources`` reported (InPlacePodLevelResourcesVerticalScaling, on by default in
    v1.36) it is the effective one of spec, ``status.resources.requests`` and
    ``status.allocatedResources`` (zero when an infeasible resize leaves it in neither)."""
    if not any(is_pod_level_resource(name) for name in requests):
        return
    effective: Mapping[str, int] | None = None
    if resized is not None and status.get("resources") is not None:
        reported = reader.mapping(status["resources"], "status.resources")
        effective = resized.effective(
            requests,
            reader.resources(reported.get("requests"), "status.resources.requests"),
            reader.resources(status.get("allocatedResources"), "status.allocatedResources"),
        )
    for name, amount in requests.items():
        if is_pod_level_resource(name):
            total[name] = amount if effective is None else effective.get(name, 0)


def pod_requests(
    reader: Reader, spec: Mapping[str, Any], status: Mapping[str, Any] = EMPTY
) -> tuple[ResourceList, tuple[HostPort, ...]]:
    """Effective requests (``resource.PodRequests`` as kube-scheduler calls it,
    ``PodInfo.CalculateResource`` in pkg/scheduler/framework/types.go) and the host ports of all
    containers.

    ``UseStatusResources`` is on (InPlacePodVerticalScaling is GA and locked on in v1.36), so a
    resized container counts the larger of its spec, actuated and allocated requests; pod-level
    requests (PodLevelResources, cpu, memory and hugepages) replace the containers' aggregate;
    overhead is added last.
    """
    containers = _Containers(reader, spec)
    resized = _resized(reader, status)
    total = containers.requests(resized)
    if spec.get("resources"):
        pod_level = _pod_level_requests(reader, spec, containers)
        _apply_pod_level(reader, pod_level, status, resized, total)
    overhead = spec.get("overhead")
    if overhead:
        _add(total, reader.resources(overhead, "spec.overhead"))
    total.pop(PODS, None)
    return rounded(total), tuple(containers.ports)
