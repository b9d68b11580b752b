"""The project's image, built here by hack/image.sh, runs as it runs in the chart's pod and serves
the harness's real kube-scheduler.

The container gets what the chart gives its pod: the settings file and the certificates the chart
renders, mounted at the chart's paths, a read-only root file system with /tmp as the only writable
place, UID 65532, no capabilities. kube-scheduler runs with the chart's KubeSchedulerConfiguration
(the extender's address and the certificate paths pointed at this machine: the container shares
the host's network). The test checks that kube-scheduler calls the verbs over mutual TLS, that a
planning round runs (solver child processes in a read-only container), and that /metrics and the
probes answer. Skipped where no Docker engine can be had (hack/image.sh starts one as root).
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit import builders
from testkit.cluster import free_ports
from testkit.kube import Kube
from testkit.service import REPO, ServiceProcess
from testkit.wait import wait_for
from tests.deploy.chart import NAMESPACE, render
from tests.e2e.conftest import ClusterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IMAGE = "scheduler-ext:e2e"
NAME = "se-scheduler-ext"


def _engine_or_skip() -> None:
    if shutil.which("docker") is None and shutil.which("apt-get") is None:
        pytest.skip("no docker client: install Debian's docker.io (hack/image.sh does as root)")
    if shutil.which("docker") is not None:
        answer = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            check=False,
        )
        if answer.returncode == 0:
            return
    if os.geteuid() != 0:
        pytest.skip("no Docker engine answers, and only root can start dockerd (hack/image.sh)")


@pytest.fixture(scope="module")
def image() -> str:
    """hack/image.sh: the debootstrap base is cached outside the repo, docker's layers in the
    engine; its progress is shown on stderr."""
    _engine_or_skip()
    result = subprocess.run(
        ["bash", str(REPO / "hack" / "image.sh")],
        env={**os.environ, "IMAGE": IMAGE},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    sys.stderr.write(result.stderr[-5000:])
    assert result.returncode == 0, result.stderr[-5000:]
    return result.stdout.strip().splitlines()[-1]


class ContainerService(ServiceProcess):
    """``ServiceProcess`` whose process is ``docker run`` of the image (attached: stopping it
    stops the container, and its output is the service's log). ``port`` is the admin listener's
    (plain HTTP), which ``get`` and ``metric`` read; the verbs listen on ``verbs_port``."""

    def __init__(
        self, image: str, name: str, docker_args: list[str], verbs_port: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.image, self.name, self.docker_args = image, name, docker_args
        self.verbs_port = verbs_port

    def start(self) -> ContainerService:
        wanted = {k: v for k, v in self.env.items() if k.startswith("SCHEDULER_EXT_")}
        command = ["docker", "run", "--rm", "--name", self.name, "--network", "host",
                   "--read-only", "--tmpfs", "/tmp", "--user", "65532:65532",
                   "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                   *(f"--env={k}={v}" for k, v in wanted.items()), *self.docker_args,
                   self.image, "serve", "--config", "/etc/scheduler-ext/config/settings.yaml",
                   "--kubeconfig", "/etc/scheduler-ext/kubeconfig", "--host", "127.0.0.1",
                   "--port", str(self.verbs_port)]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        super().stop()
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, check=False)


def _write(directory: Path, files: dict[str, bytes]) -> Path:
    """Files readable by the container's user (the test's tmp_path is root's, mode 0700)."""
    directory.mkdir(mode=0o755)
    for name, content in files.items():
        (directory / name).write_bytes(content)
        (directory / name).chmod(0o644)
    return directory


def _secret(rendered: Any, name: str) -> dict[str, bytes]:
    [secret] = [s for s in rendered.of_kind("Secret") if s["metadata"]["name"] == name]
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


@pytest.fixture
def chart_files(tmp_path: Path) -> tuple[dict[str, Any], Path, Path, Path]:
    """(the chart's KubeSchedulerConfiguration, its settings directory, the extender's and
    kube-scheduler's certificate directories), rendered with the chart's defaults."""
    rendered = render()
    [settings] = [c for c in rendered.of_kind("ConfigMap") if c["metadata"]["name"] == NAME]
    [scheduler] = [
        c for c in rendered.of_kind("ConfigMap") if c["metadata"]["name"] == f"{NAME}-scheduler"
    ]
    config: dict[str, Any] = yaml.safe_load(scheduler["data"]["config.yaml"])
    return (
        config,
        _write(tmp_path / "config", {"settings.yaml": settings["data"]["settings.yaml"].encode()}),
        _write(tmp_path / "tls", _secret(rendered, f"{NAME}-tls")),
        _write(tmp_path / "scheduler-tls", _secret(rendered, f"{NAME}-scheduler-tls")),
    )


def _https_status(port: int, client: Path, path: str) -> int:
    context = ssl.create_default_context(cafile=str(client / "ca.crt"))
    context.check_hostname = False  # the certificate names the Service, the test dials 127.0.0.1
    context.load_cert_chain(str(client / "tls.crt"), str(client / "tls.key"))
    url = f"https://127.0.0.1:{port}{path}"
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return int(response.status)


def test_the_image_serves_kube_scheduler_as_the_chart_runs_it(
    image: str,
    cluster_factory: ClusterFactory,
    chart_files: tuple[dict[str, Any], Path, Path, Path],
    tmp_path: Path,
) -> None:
    config, settings_dir, tls_dir, client_dir = chart_files
    port, admin = free_ports(2)
    [extender] = config["extenders"]
    extender["urlPrefix"] = f"https://127.0.0.1:{port}/scheduler"
    for key, file in (("certFile", "tls.crt"), ("keyFile", "tls.key"), ("caFile", "ca.crt")):
        extender["tlsConfig"][key] = str(client_dir / file)  # serverName stays the Service's
    cluster = cluster_factory(config, prefix="image")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(cluster.kubectl("config", "view", "--flatten", "--minify"))
    kubeconfig.chmod(0o644)
    service = ContainerService(
        image,
        f"scheduler-ext-e2e-{port}",
        [
            f"--volume={settings_dir}:/etc/scheduler-ext/config:ro",
            f"--volume={tls_dir}:/etc/scheduler-ext/tls:ro",
            f"--volume={kubeconfig}:/etc/scheduler-ext/kubeconfig:ro",
        ],
        verbs_port=port,
        kubeconfig=kubeconfig,
        port=admin,
        log=tmp_path / "container.log",
        env={
            "SCHEDULER_EXT_SERVER__ADMIN_HOST": "127.0.0.1",
            "SCHEDULER_EXT_SERVER__ADMIN_PORT": str(admin),
        },
    )
    try:
        with Kube(cluster.api_client()) as kube:
            kube.create(builders.namespace(NAMESPACE))  # the chart's kube-scheduler's lease
            kube.create(builders.namespace("image"))
            for name in ("image-n1", "image-n2"):
                kube.create(builders.node(name, cpu="2"))
            service.start()
            service.wait_ready(timeout=120)
            # Mutual TLS on the verbs; that listener starts after the admin one (which answered).
            wait_for(
                lambda: _https_status(port, client_dir, "/readyz"),
                lambda status: status == 200,
                description="the verbs listener, over mutual TLS",
                timeout=60,
            )
            kube.create(builders.pod("placed", namespace="image", requests={"cpu": "500m"},
                                     scheduler_name="scheduler-ext"))  # fmt: skip
            kube.create(builders.pod("too-big", namespace="image", requests={"cpu": "3"},
                                     scheduler_name="scheduler-ext"))  # fmt: skip
            wait_for(
                lambda: kube.core.read_namespaced_pod("placed", "image").spec.node_name,
                lambda node: node in {"image-n1", "image-n2"},
                description="the pod placed by the chart's kube-scheduler",
                timeout=60,
            )
        wait_for(
            lambda: service.metric("scheduler_ext_verb_duration_seconds_count", verb="prioritize"),
            lambda calls: calls >= 1,
            description="kube-scheduler's prioritize call answered by the container",
        )
        wait_for(
            lambda: sum(
                service.metric("scheduler_ext_plans_total", outcome=outcome)
                for outcome in ("improves", "no_improvement", "failed")
            ),
            lambda rounds: rounds >= 1,
            description="a planning round for the pod that fits nowhere",
            timeout=60,
        )
        assert service.metric("scheduler_ext_plans_total", outcome="failed") == 0
        assert service.metric("scheduler_ext_state_synced") == 1
        assert service.get("/healthz")[0] == 200
        changed = subprocess.run(
            ["docker", "diff", service.name], capture_output=True, text=True, check=True
        ).stdout.split()[1::2]
        # Nothing written outside the /tmp tmpfs: the only changes are the mount points docker
        # made for the volumes (and their parents).
        mounts = {"/etc/scheduler-ext/" + m for m in ("config", "tls", "kubeconfig")}
        assert set(changed) - mounts - {"/etc", "/etc/scheduler-ext"} == set()
    finally:
        service.stop()
        cluster_factory.delete(cluster)
