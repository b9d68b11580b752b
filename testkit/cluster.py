"""A kwokctl (``--runtime binary``) cluster built from the pinned binaries of hack/kube-bins.sh.

Every component kwokctl would otherwise download is passed as a local binary, every port is a free
one chosen here, and each cluster has its own ``KWOK_WORKDIR`` so that nothing touches
``~/.kwok`` or ``~/.kube/config``. Typical use::

    with KwokCluster.create(kube_bins(), scheduler_config=cfg) as cluster:
        api = cluster.api_client()
        ...
    # deleted here, even when the body raised
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from testkit.bins import KubeBins
from testkit.wait import wait_for

#: Components of a default kwokctl binary cluster, in start order; each has a ``kwokctl logs`` log.
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok-controller",
)

#: How much of each component log ``all_logs`` returns by default (its tail).
DEFAULT_LOG_LIMIT = 200_000


class ClusterError(RuntimeError):
    """kwokctl failed; the message carries its output."""


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 and 0.0.0.0 right now.

    Ports come from the kernel's ephemeral range, which lies above the range kwokctl picks its own
    ports from (10000-32767, counting down), so a cluster made here cannot collide with one that
    kwokctl configured itself.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))  # probing, not serving
        port: int = sock.getsockname()[1]
    return port


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while choosing, so they differ)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("0.0.0.0", 0))  # probing, not serving
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def unique_name(prefix: str = "e2e") -> str:
    """A cluster name that is unique per call and valid for kwokctl (lowercase, digits, '-')."""
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"


class KwokCluster:
    """One kwokctl cluster; create it with ``KwokCluster.create``; always ``delete()`` it."""

    def __init__(
        self,
        bins: KubeBins,
        *,
        name: str,
        base_dir: Path,
        scheduler_config: Mapping[str, Any] | None = None,
        extra_args: Mapping[str, Mapping[str, str]] | None = None,
        disable: Sequence[str] = (),
        owns_base_dir: bool = False,
    ) -> None:
        self.bins = bins
        self.name = name
        self.base_dir = base_dir
        #: KWOK_WORKDIR: kwokctl keeps its config, pki, pids, logs and etcd data under it.
        self.workdir = base_dir / "kwok"
        #: The kubeconfig kwokctl writes for this cluster (and only this cluster).
        self.kubeconfig = base_dir / "kubeconfig.yaml"
        self.scheduler_config_path: Path | None = None
        if scheduler_config is not None and "clientConnection" in scheduler_config:
            # kwokctl appends its own `clientConnection:` block to the file (v0.7.0
            # runtime/scheduler.go); a second one fails the scheduler's strict decoding.
            raise ValueError(
                "the KubeSchedulerConfiguration must not set clientConnection: "
                "kwokctl appends its own (with the kubeconfig)"
            )
        self.scheduler_config = dict(scheduler_config) if scheduler_config is not None else None
        self.extra_args = {k: dict(v) for k, v in (extra_args or {}).items()}
        unknown = sorted(set(disable) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"cannot disable unknown components: {', '.join(unknown)}")
        #: Components kwokctl does not start (``--disable``); health checks skip them.
        self.disabled = tuple(disable)
        self._owns_base_dir = owns_base_dir
        ports = free_ports(6)
        self.ports: dict[str, int] = {
            "kube-apiserver": ports[0],
            "etcd": ports[1],
            "etcd-peer": ports[2],
            "kube-controller-manager": ports[3],
            "kube-scheduler": ports[4],
            "kwok-controller": ports[5],
        }
        self.created = False
        self.deleted = False
        self.create_seconds = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        bins: KubeBins,
        *,
        name: str | None = None,
        scheduler_config: Mapping[str, Any] | None = None,
        base_dir: Path | None = None,
        extra_args: Mapping[str, Mapping[str, str]] | None = None,
        disable: Sequence[str] = (),
        timeout: float = 120.0,
        owns_base_dir: bool | None = None,
    ) -> KwokCluster:
        """Create a cluster and wait until every component answers its health check.

        ``scheduler_config`` is a ``KubeSchedulerConfiguration`` as a mapping (kwokctl fills in
        ``clientConnection.kubeconfig``). ``extra_args`` maps a component name to extra flags
        (``{"kube-scheduler": {"v": "4"}}``). ``disable`` names components kwokctl does not start
        (``("kube-scheduler",)``: a benchmark starts its own once the pods exist). On failure the
        half-made cluster is deleted and the error carries the component logs. ``base_dir``
        (default: a new temporary directory) holds the kubeconfig and kwokctl's work directory;
        ``delete()`` removes it if ``owns_base_dir`` (default: only when it was made here).
        """
        owns = base_dir is None if owns_base_dir is None else owns_base_dir
        if base_dir is None:
            base_dir = Path(tempfile.mkdtemp(prefix="scheduler-ext-kwok-"))
        cluster = cls(
            bins,
            name=name or unique_name(),
            base_dir=base_dir,
            scheduler_config=scheduler_config,
            extra_args=extra_args,
            disable=disable,
            owns_base_dir=owns,
        )
        try:
            cluster._create(timeout)
        except BaseException as exc:
            logs = cluster.all_logs(limit=20_000) if cluster.workdir.exists() else {}
            cluster.delete()
            if isinstance(exc, Exception) and logs:
                shown = "\n".join(f"--- {c} ---\n{text}" for c, text in logs.items())
                raise ClusterError(f"{exc}\ncomponent logs (tails):\n{shown}") from exc
            raise
        return cluster

    @classmethod
    def existing(cls, bins: KubeBins, *, name: str, base_dir: Path) -> KwokCluster:
        """A handle on a cluster created earlier (by another process) in ``base_dir``, to read its
        logs or delete it; ``delete()`` also removes ``base_dir``."""
        cluster = cls(bins, name=name, base_dir=base_dir, owns_base_dir=True)
        cluster.created = cluster.workdir.exists()
        return cluster

    def _create(self, timeout: float) -> None:
        start = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # kwokctl reads $KWOK_WORKDIR/kwok.yaml as defaults for its flags: the etcd peer port has
        # no flag, so it goes there; the binaries go there too for the commands that are not
        # `create cluster` (kubectl is also found through PATH).
        options: dict[str, Any] = {
            "runtime": "binary",
            # Every component listens on loopback only (kwokctl's default is 0.0.0.0).
            "bindAddress": "127.0.0.1",
            "etcdPeerPort": self.ports["etcd-peer"],
            "kubectlBinary": str(self.bins.kubectl),
            "kubeApiserverBinary": str(self.bins.kube_apiserver),
            "kubeControllerManagerBinary": str(self.bins.kube_controller_manager),
            "kubeSchedulerBinary": str(self.bins.kube_scheduler),
            "etcdBinary": str(self.bins.etcd),
            "kwokControllerBinary": str(self.bins.kwok),
        }
        kwokctl_config = {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokctlConfiguration",
            "options": options,
        }
        (self.workdir / "kwok.yaml").write_text(yaml.safe_dump(kwokctl_config, sort_keys=False))
        args = [
            "create",
            "cluster",
            "--runtime=binary",
            f"--kubeconfig={self.kubeconfig}",
            f"--kube-apiserver-binary={self.bins.kube_apiserver}",
            f"--kube-controller-manager-binary={self.bins.kube_controller_manager}",
            f"--kube-scheduler-binary={self.bins.kube_scheduler}",
            f"--etcd-binary={self.bins.etcd}",
            f"--kwok-controller-binary={self.bins.kwok}",
            f"--kube-apiserver-port={self.ports['kube-apiserver']}",
            f"--etcd-port={self.ports['etcd']}",
            f"--kube-controller-manager-port={self.ports['kube-controller-manager']}",
            f"--kube-scheduler-port={self.ports['kube-scheduler']}",
            f"--controller-port={self.ports['kwok-controller']}",
            f"--timeout={int(timeout)}s",
        ]
        if self.scheduler_config is not None:
            self.scheduler_config_path = self.base_dir / "kube-scheduler-config.yaml"
            # Block-style YAML, so that kwokctl's appended block stays part of the same mapping.
            self.scheduler_config_path.write_text(
                yaml.safe_dump(self.scheduler_config, sort_keys=False, default_flow_style=False)
            )
            args.append(f"--kube-scheduler-config={self.scheduler_config_path}")
        for component, flags in self.extra_args.items():
            for key, value in flags.items():
                args.append(f"--extra-args={component}={key}={value}")
        if self.disabled:
            args.append(f"--disable={','.join(self.disabled)}")
        self.created = True  # from here on, delete() has something to remove
        self.kwokctl(*args, timeout=timeout)
        # At least a minute: kwokctl may return late on a loaded machine, the rest still starting.
        remaining = max(60.0, timeout - (time.monotonic() - start))
        self.wait_ready(timeout=remaining)
        self.create_seconds = time.monotonic() - start

    def delete(self) -> None:
        """Stop every component and remove the work directory. Safe to call twice."""
        if self.deleted:
            return
        self.deleted = True
        try:
            if self.created:
                self.kwokctl("delete", "cluster", timeout=60, check=False)
        finally:
            if self._owns_base_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delete()

    # -- kwokctl -----------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment for kwokctl and kubectl: this cluster's workdir, the binaries on PATH."""
        env = dict(os.environ)
        env["KWOK_WORKDIR"] = str(self.workdir)
        env["PATH"] = f"{self.bins.directory}{os.pathsep}{env.get('PATH', '')}"
        env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def kwokctl(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        """Run ``kwokctl --name <this cluster> <args>`` and return its stdout."""
        cmd = [str(self.bins.kwokctl), f"--name={self.name}", *args]
        try:
            proc = subprocess.run(
                cmd,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{' '.join(cmd)} timed out after {timeout}s") from exc
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(cmd)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc.stdout

    def kubectl(self, *args: str, timeout: float = 60) -> str:
        """Run the pinned kubectl against this cluster and return its stdout."""
        proc = subprocess.run(
            [str(self.bins.kubectl), f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc.stdout

    def install_crds(self) -> None:
        """Apply the service's CRDs (``scheduler_ext/crds``, as shipped) and wait until the API
        server serves them."""
        from scheduler_ext import crds

        manifest = self.workdir / "scheduler-ext-crds.yaml"
        manifest.write_text(crds.manifest())
        self.kubectl("apply", "-f", str(manifest))
        name = crds.definition()["metadata"]["name"]
        self.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")

    def pids(self) -> dict[str, int]:
        """The cluster's component processes (kube-apiserver, etcd, ...), from kwokctl's pid
        files."""
        pid_dir = self.workdir / "clusters" / self.name / "pids"
        return {p.stem: int(p.read_text().strip()) for p in sorted(pid_dir.glob("*.pid"))}

    @property
    def log_dir(self) -> Path:
        return self.workdir / "clusters" / self.name / "logs"

    def logs(self, component: str) -> str:
        """``kwokctl logs <component>`` (falls back to the log file if kwokctl fails)."""
        try:
            return self.kwokctl("logs", component, timeout=30)
        except (ClusterError, OSError) as exc:
            path = self.log_dir / f"{component}.log"
            if path.exists():
                return path.read_text(errors="replace")
            return f"<no log for {component}: {exc}>"

    def all_logs(self, limit: int = DEFAULT_LOG_LIMIT) -> dict[str, str]:
        """Every component's log, each cut to its last ``limit`` characters."""
        result: dict[str, str] = {}
        for component in COMPONENTS:
            text = self.logs(component)
            if len(text) > limit:
                text = f"<first {len(text) - limit} characters cut>\n" + text[-limit:]
            result[component] = text
        return result

    # -- clients and health ------------------------------------------------------------------------

    def api_client(self) -> Any:
        """A new ``kubernetes.client.ApiClient`` that trusts this cluster's CA (so no TLS
        warnings); close it (or use it in ``with``)."""
        load: Any = k8s_config.new_client_from_config
        return load(config_file=str(self.kubeconfig))

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    def _healthz(self, url: str) -> str:
        # Component health endpoints serve self-signed certificates; this only probes liveness.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            body: bytes = resp.read()
        return body.decode(errors="replace")

    def health(self) -> dict[str, str]:
        """Health-check answer (or error) of each component that has an HTTP endpoint."""
        urls = {
            "kube-apiserver": f"{self.server}/readyz",
            "kube-controller-manager": (
                f"https://127.0.0.1:{self.ports['kube-controller-manager']}/healthz"
            ),
            "kube-scheduler": f"https://127.0.0.1:{self.ports['kube-scheduler']}/healthz",
            "kwok-controller": f"http://127.0.0.1:{self.ports['kwok-controller']}/healthz",
        }
        result: dict[str, str] = {}
        for component in self.disabled:
            urls.pop(component, None)
        for component, url in urls.items():
            try:
                result[component] = self._healthz(url)
            except (OSError, urllib.error.URLError) as exc:
                result[component] = f"error: {exc}"
        return result

    def dead_components(self) -> list[str]:
        """Components whose process (from kwokctl's pid files) no longer exists."""
        dead: list[str] = []
        pid_dir = self.workdir / "clusters" / self.name / "pids"
        for pid_file in sorted(pid_dir.glob("*.pid")) if pid_dir.exists() else []:
            try:
                os.kill(int(pid_file.read_text().strip()), 0)
            except ProcessLookupError:
                dead.append(pid_file.stem)
            except (ValueError, PermissionError, OSError):
                continue
        return dead

    def _health_or_dead(self) -> dict[str, str]:
        dead = self.dead_components()
        if dead:
            raise ClusterError(f"components exited: {', '.join(dead)} (see their logs)")
        return self.health()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every component is healthy and the ``default`` namespace exists; fail at
        once if a component's process has exited."""
        wait_for(
            self._health_or_dead,
            lambda h: all(v.strip() == "ok" for v in h.values()),
            description=f"components of kwok cluster {self.name} to be healthy",
            timeout=timeout,
            retry=lambda exc: not isinstance(exc, ClusterError),
        )
        with self.api_client() as api:
            core: Any = k8s.CoreV1Api(api)
            wait_for(
                lambda: core.read_namespace("default").metadata.name,
                lambda name: name == "default",
                description="namespace default",
                timeout=timeout,
            )
