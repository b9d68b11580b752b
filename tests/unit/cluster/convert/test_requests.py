"""A pod's effective requests are what kube-scheduler computes (resource.PodRequests)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.cluster.convert.raw import GI, MI, container, converted, pod_json


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
            {"containers": [container({"cpu": "0.5m"}), container({"cpu": "500u"})]},
            {"cpu": 1},
            id="sub-milli-summed-before-rounding",
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
