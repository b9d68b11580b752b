"""A real kind cluster on this machine, built without any image registry (docs/kind.md).

hack/kind-up.sh builds (once, cached outside the repo) or loads the offline node image, creates the
cluster of kind-config.yaml, waits for CoreDNS and adds kwok fake nodes; this test then checks that
the real node is Ready, that a locally built image loaded with ``kind load docker-image`` runs as a
pod on it, and that the fake nodes are registered, Ready and tainted, and tears it all down with
hack/kind-down.sh. Warm (node image cached): a few minutes. Cold: the node image's build first
(docs/kind.md has the figures).

Skipped, with the reason, only where it cannot run: no Docker engine, or neither root nor a Docker
engine already set up for kind's privileged node containers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit.bins import KubeBins
from testkit.wait import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
KIND_UP = REPO / "hack" / "kind-up.sh"
KIND_DOWN = REPO / "hack" / "kind-down.sh"
NODE_IMAGE_SCRIPT = REPO / "hack" / "kind-node-image.sh"
KWOK_NODES = 2
#: The node image's cold build compiles for many minutes on 2 cores; a warm run takes seconds.
BUILD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class KindCluster:
    name: str
    kubeconfig: Path
    kind: Path
    kubectl: Path

    def kubectl_json(self, *args: str) -> Any:
        out = subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *args, "-o", "json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return json.loads(out.stdout)

    def apply(self, manifest: dict[str, Any]) -> None:
        subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), "apply", "-f", "-"],
            input=json.dumps(manifest),
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )


def _docker_ready_or_skip() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no 'docker' on PATH: kind needs a Docker engine")
    if os.geteuid() != 0:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.DefaultRuntime}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if info.returncode != 0 or "no-sys-resource" not in info.stdout:
            pytest.skip(
                "not root, and the Docker engine is not prepared for kind "
                "(run hack/kind-node-image.sh --host as root once)"
            )


def _ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _run_script(args: list[str], timeout: float) -> str:
    done = subprocess.run(
        ["bash", *args],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(args)} exited with {done.returncode} (log above)"
    return done.stdout.strip()


def _kind_clusters(kind: Path) -> list[str]:
    out = subprocess.run(
        [str(kind), "get", "clusters"], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.split()


@pytest.fixture(scope="module")
def kind_cluster(kube_bins: KubeBins) -> Iterator[KindCluster]:
    _docker_ready_or_skip()
    name = f"se-e2e-{uuid.uuid4().hex[:6]}"
    try:
        kubeconfig = _run_script(
            [str(KIND_UP), "--name", name, "--kwok-nodes", str(KWOK_NODES)], BUILD_TIMEOUT
        )
        cache = Path(_run_script([str(NODE_IMAGE_SCRIPT), "--check"], 60))
        yield KindCluster(name, Path(kubeconfig), cache / "bin" / "kind", kube_bins.kubectl)
    finally:
        # Also after test_kind_down_deletes_the_cluster: deleting a deleted cluster is a no-op.
        _run_script([str(KIND_DOWN), "--name", name], 300)


@pytest.fixture
def local_image(tmp_path: Path, kind_cluster: KindCluster) -> Iterator[str]:
    """An image built here (one static binary that waits forever), never in any registry."""
    tag = f"scheduler-ext-e2e/waiter:{uuid.uuid4().hex[:8]}"
    pause = kind_cluster.kind.parent / "pause"
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add(pause, arcname="waiter")
    subprocess.run(
        ["docker", "import", "--change", 'ENTRYPOINT ["/waiter"]', str(rootfs), tag],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield tag
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True, check=False, timeout=120)


def test_node_is_ready(kind_cluster: KindCluster) -> None:
    node = kind_cluster.kubectl_json("get", "node", f"{kind_cluster.name}-control-plane")

    assert _ready(node), node.get("status", {}).get("conditions")
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")


def test_locally_built_image_runs_as_a_pod(kind_cluster: KindCluster, local_image: str) -> None:
    subprocess.run(
        [
            str(kind_cluster.kind),
            "load",
            "docker-image",
            local_image,
            "--name",
            kind_cluster.name,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    node = f"{kind_cluster.name}-control-plane"
    kind_cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "local-image", "namespace": "default"},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node},
                "tolerations": [{"operator": "Exists"}],
                "containers": [
                    {"name": "waiter", "image": local_image, "imagePullPolicy": "Never"}
                ],
            },
        }
    )

    pod = wait_for(
        lambda: kind_cluster.kubectl_json("get", "pod", "local-image", "-n", "default"),
        _ready,
        description="the pod of the locally built image Ready",
        timeout=180,
        interval=2,
        describe=lambda p: p.get("status"),
    )

    assert pod["spec"]["nodeName"] == node
    assert pod["status"]["podIP"].startswith("10.244.0.")


def test_kwok_fake_nodes_are_registered_and_ready(kind_cluster: KindCluster) -> None:
    nodes = wait_for(
        lambda: kind_cluster.kubectl_json("get", "nodes", "-l", "type=kwok")["items"],
        lambda items: len(items) == KWOK_NODES and all(_ready(n) for n in items),
        description=f"{KWOK_NODES} kwok nodes Ready",
        timeout=120,
        interval=2,
        describe=lambda items: [(n["metadata"]["name"], _ready(n)) for n in items],
    )

    assert sorted(n["metadata"]["name"] for n in nodes) == [
        f"kwok-node-{i}" for i in range(KWOK_NODES)
    ]
    # Tainted: only pods that tolerate it are "run" by kwok; the rest stays on the real node.
    fake = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
    assert all(fake in n["spec"].get("taints", []) for n in nodes)


def test_kind_down_deletes_the_cluster(kind_cluster: KindCluster) -> None:
    """Last in this module (pytest runs a module's tests in file order): tears the cluster down."""
    assert kind_cluster.name in _kind_clusters(kind_cluster.kind)

    _run_script([str(KIND_DOWN), "--name", kind_cluster.name], 300)

    assert kind_cluster.name not in _kind_clusters(kind_cluster.kind)
    assert not kind_cluster.kubeconfig.exists()
