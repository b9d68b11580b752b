"""A pod's effective requests are what kube-scheduler computes (resource.PodRequests)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from scheduler_ext.cluster.convert import node_from
from scheduler_ext.errors import SnapshotError
from tests.unit.cluster.convert.raw import GI, MI, container, converted, node_json, pod_json


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"containers": [container({"cpu": "100m", "memory": "64Mi"})]},
            {"cpu": 100, "memory": 64 * MI},
            id="one-container",
        ),
        pytest.param(
            {
                "containers": [
                    container({"cpu": "100m", "memory": "64Mi"}),
                    container({"cpu": "250m", "memory": "1Gi"}),
                ]
            },
            {"cpu": 350, "memory": GI + 64 * MI},
            id="containers-add-up",
        ),
        pytest.param(
            {"containers": [container(None, {"cpu": "2", "memory": "1Gi"})]},
            {"cpu": 2000, "memory": GI},
            id="limits-become-requests",
        ),
        pytest.param(
            {"containers": [container({"cpu": "500m"}, {"cpu": "2", "memory": "1Gi"})]},
            {"cpu": 500, "memory": GI},
            id="request-kept-limit-fills-the-rest",
        ),
        pytest.param(
            {"containers": [container()]},
            {},
            id="best-effort-requests-nothing",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m", "memory": "100Mi"})],
                "initContainers": [container({"cpu": "1", "memory": "10Mi"})],
            },
            {"cpu": 1000, "memory": 100 * MI},
            id="init-container-peak-per-resource",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [
                    container({"cpu": "300m"}),
                    container({"cpu": "700m"}),
                ],
            },
            {"cpu": 700},
            id="init-containers-take-the-max-not-the-sum",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [container({"cpu": "200m"}, restartPolicy="Always")],
            },
            {"cpu": 300},
            id="sidecar-adds-to-containers",
        ),
        pytest.param(
            # sidecar 200m starts first; init 500m then runs beside it (700m); then the app
            # (100m) runs beside the sidecar (300m): the pod needs max(700, 300).
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [
                    container({"cpu": "200m"}, restartPolicy="Always"),
                    container({"cpu": "500m"}),
                ],
            },
            {"cpu": 700},
            id="init-after-sidecar-runs-beside-it",
        ),
        pytest.param(
            # init 500m runs before the sidecar exists: max(500, 100 + 200) = 500.
            {
                "containers": [container({"cpu": "100m"})],
                "initContainers": [
                    container({"cpu": "500m"}),
                    container({"cpu": "200m"}, restartPolicy="Always"),
                ],
            },
            {"cpu": 500},
            id="init-before-sidecar-runs-alone",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "1", "memory": "1Gi"})],
                "overhead": {"cpu": "250m", "memory": "120Mi"},
            },
            {"cpu": 1250, "memory": GI + 120 * MI},
            id="overhead-added",
        ),
        pytest.param(
            {
                "containers": [
                    container({"cpu": "100m", "memory": "100Mi"}),
                    container({"cpu": "100m", "memory": "100Mi"}),
                ],
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
            },
            {"cpu": 1000, "memory": GI},
            id="pod-level-requests-override",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "resources": {"limits": {"cpu": "2", "memory": "2Gi"}},
            },
            {"cpu": 100, "memory": 2 * GI},
            id="pod-level-limit-defaults-only-unrequested-resources",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m", "nvidia.com/gpu": "1"})],
                "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "4"}},
                "overhead": {"cpu": "10m"},
            },
            {"cpu": 1010, "nvidia.com/gpu": 1},
            id="pod-level-only-cpu-memory-then-overhead",
        ),
        pytest.param(
            {
                "containers": [
                    container({"nvidia.com/gpu": "2", "example.com/foo": 3}),
                    container(None, {"nvidia.com/gpu": "1"}),
                ]
            },
            {"nvidia.com/gpu": 3, "example.com/foo": 3},
            id="extended-resources-in-units",
        ),
        pytest.param(
            {
                "containers": [
                    container({"hugepages-2Mi": "64Mi", "ephemeral-storage": "1G", "memory": "1G"})
                ]
            },
            {"hugepages-2Mi": 64 * MI, "ephemeral-storage": 10**9, "memory": 10**9},
            id="hugepages-and-ephemeral-storage-in-bytes",
        ),
        pytest.param(
            # SetDefaults_ResourceList rounds every quantity up to a milli-unit on its own: two
            # half-millicores are two millicores, not one.
            {"containers": [container({"cpu": "0.5m"}), container({"cpu": "500u"})]},
            {"cpu": 2},
            id="each-quantity-rounded-to-milli-before-summing",
        ),
        pytest.param(
            {"containers": [container({"memory": "0.5"}), container({"memory": "0.5"})]},
            {"memory": 1},
            id="milli-exact-quantities-summed-then-rounded",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "resources": {"requests": {"cpu": "1", "hugepages-2Mi": "4Mi"}},
            },
            {"cpu": 1000, "hugepages-2Mi": 4 * MI},
            id="pod-level-hugepages",
        ),
        pytest.param(
            {
                "containers": [
                    container({"cpu": "100m"}, {"hugepages-1Gi": "1Gi"}),
                    container({"cpu": "100m"}, {"hugepages-1Gi": "1Gi"}, name="d"),
                ],
                "resources": {"limits": {"memory": "1Gi"}},
            },
            {"cpu": 200, "memory": GI, "hugepages-1Gi": 2 * GI},
            id="pod-level-hugepages-limit-defaults-to-the-containers-aggregate",
        ),
        pytest.param(
            {
                "containers": [container({"cpu": "100m"})],
                "resources": {"limits": {"cpu": "1", "hugepages-2Mi": "8Mi"}},
            },
            {"cpu": 100, "hugepages-2Mi": 8 * MI},
            id="pod-level-hugepages-request-defaults-to-its-limit",
        ),
        pytest.param(
            {"containers": [container({"cpu": 2, "memory": 1e9})]},
            {"cpu": 2000, "memory": 10**9},
            id="json-numbers",
        ),
    ],
)
def test_effective_requests(spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert converted(pod_json(spec)).requests.as_dict() == expected


def test_container_cache_does_not_leak_between_pods() -> None:
    same = {"containers": [container({"cpu": "100m"}), container({"cpu": "100m"})]}
    assert converted(pod_json(same)).requests.as_dict() == {"cpu": 200}
    assert converted(pod_json(copy.deepcopy(same))).requests.as_dict() == {"cpu": 200}


# --- in-place resize: the larger of spec, actuated and allocated requests -------------------------


def resized(spec: dict[str, Any], status: dict[str, Any], **meta: Any) -> dict[str, int]:
    obj = pod_json(spec, **meta)
    obj["status"].update(status)
    return converted(obj).requests.as_dict()


def status_of(
    name: str, requests: dict[str, Any] | None, allocated: dict[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if requests is not None:
        entry["resources"] = {"requests": requests}
    if allocated is not None:
        entry["allocatedResources"] = allocated
    return entry


@pytest.mark.parametrize(
    ("actuated", "allocated", "conditions", "expected"),
    [
        pytest.param({"cpu": "500m"}, {"cpu": "300m"}, [], 500, id="actuated-larger"),
        pytest.param({"cpu": "200m"}, {"cpu": "700m"}, [], 700, id="allocated-larger"),
        pytest.param({"cpu": "50m"}, {"cpu": "50m"}, [], 100, id="spec-larger-while-downsizing"),
        pytest.param(
            {"cpu": "50m"},
            {"cpu": "60m"},
            [{"type": "PodResizePending", "status": "True", "reason": "Infeasible"}],
            60,
            id="infeasible-resize-ignores-the-spec",
        ),
        pytest.param(
            {"cpu": "50m"},
            {"cpu": "60m"},
            [{"type": "PodResizePending", "status": "True", "reason": "Deferred"}],
            100,
            id="deferred-resize-keeps-the-spec",
        ),
        pytest.param(None, {"cpu": "900m"}, [], 100, id="no-status-resources-no-status-at-all"),
    ],
)
def test_resized_container(
    actuated: dict[str, Any] | None,
    allocated: dict[str, Any] | None,
    conditions: list[dict[str, Any]],
    expected: int,
) -> None:
    spec = {"containers": [container({"cpu": "100m"})]}
    status = {"containerStatuses": [status_of("c", actuated, allocated)], "conditions": conditions}
    assert resized(spec, status) == {"cpu": expected}


def test_resize_of_sidecars_counts_and_of_classic_init_containers_does_not() -> None:
    spec = {
        "containers": [container({"cpu": "100m"})],
        "initContainers": [
            container({"cpu": "100m"}, name="sidecar", restartPolicy="Always"),
            container({"cpu": "150m"}, name="init"),
        ],
    }
    status = {
        "containerStatuses": [status_of("c", {"cpu": "100m"}, None)],
        "initContainerStatuses": [
            status_of("sidecar", {"cpu": "400m"}, None),
            status_of("init", {"cpu": "2"}, {"cpu": "2"}),
        ],
    }
    # containers + resized sidecar = 500m; the classic init container runs beside the sidecar:
    # 150m (its spec, the status is not read for it) + 400m = 550m.
    assert resized(spec, status) == {"cpu": 550}


def test_resized_statuses_match_containers_by_name() -> None:
    spec = {"containers": [container({"cpu": "100m"}), container({"cpu": "100m"}, name="d")]}
    status = {"containerStatuses": [status_of("d", {"cpu": "1"}, None)]}
    assert resized(spec, status) == {"cpu": 1100}


def test_pod_level_resize() -> None:
    spec = {
        "containers": [container({"cpu": "100m"})],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
    }
    status = {
        "resources": {"requests": {"cpu": "2"}},
        "allocatedResources": {"memory": "2Gi"},
    }
    assert resized(spec, status) == {"cpu": 2000, "memory": 2 * GI}


# --- quantities the API server refuses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param(
            {"containers": [container({"cpu": "-100m"})]},
            "spec.containers[0].resources.requests.cpu",
            id="negative-request",
        ),
        pytest.param(
            {"containers": [container(None, {"memory": -1})]},
            "spec.containers[0].resources.limits.memory",
            id="negative-limit",
        ),
        pytest.param(
            {"containers": [container()], "overhead": {"cpu": "-1"}},
            "spec.overhead.cpu",
            id="negative-overhead",
        ),
        pytest.param(
            {"containers": [container({1: "1"})]},  # type: ignore[dict-item]
            "spec.containers[0].resources.requests",
            id="integer-resource-name",
        ),
        pytest.param(
            {"containers": [container({None: "1"})]},  # type: ignore[dict-item]
            "spec.containers[0].resources.requests",
            id="null-resource-name",
        ),
    ],
)
def test_refused_quantities(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(SnapshotError, match=re.escape(f"pods/default/web-1: {field}")) as caught:
        converted(pod_json(spec))
    assert "\n" not in str(caught.value)


def test_negative_node_allocatable_is_refused() -> None:
    node = node_json()
    node["status"]["allocatable"]["cpu"] = "-1"
    with pytest.raises(SnapshotError, match=r"nodes/n1: status.allocatable.cpu: .*greater than"):
        node_from(node)


def test_node_quantities_are_rounded_to_milli_units() -> None:
    node = node_json()
    node["status"]["allocatable"]["cpu"] = "1500u"
    assert node_from(node).allocatable.get("cpu") == 2
