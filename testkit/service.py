"""The extender service as kube-scheduler sees it: ``scheduler-ext serve`` in its own process.

``ServiceProcess`` runs the real command line (``python -m scheduler_ext serve``) against a kwokctl
cluster's kubeconfig, on a port chosen before the cluster so that the cluster's
KubeSchedulerConfiguration can name it. Its log goes to a file; ``stop()`` prints the log's tail,
so a failing test shows it among its captured output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from testkit import builders
from testkit.processes import terminate
from testkit.wait import wait_for

REPO = Path(__file__).resolve().parents[1]
LOG_TAIL = 20_000

REQUEST_TIMEOUT = 30.0
"""One request to the service: it answers in milliseconds, but on a loaded CI machine a request
may wait seconds for a core (a plan being made in the service takes one)."""

NOWHERE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: nowhere, user: u}}]
current-context: c
"""
"""A kubeconfig whose API server does not exist: the service starts, serves, and is never ready."""

DRY_RUN_CONFIG = REPO / "deploy" / "kube-scheduler-config.yaml"
"""The shipped configuration for dry-run mode: prioritize and preempt."""
ALL_VERBS_CONFIG = REPO / "deploy" / "kube-scheduler-config-all-verbs.yaml"
"""The shipped configuration with all four verbs."""


def shipped_extender(path: Path = ALL_VERBS_CONFIG) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the shipped file, its one extender entry)."""
    example: dict[str, Any] = yaml.safe_load(path.read_text())
    [entry] = example["extenders"]
    return example, entry


def extender_config(
    port: int, *, ignorable: bool = False, shipped: Path = ALL_VERBS_CONFIG
) -> dict[str, Any]:
    """A shipped KubeSchedulerConfiguration (deploy/; all four verbs unless ``shipped`` says
    otherwise) pointed at the test's service. kwokctl supplies clientConnection; the test
    harness wants no leader election and short backoffs, as ``builders.scheduler_config`` sets
    them."""
    example, entry = shipped_extender(shipped)
    entry = {**entry, "urlPrefix": f"http://127.0.0.1:{port}/scheduler", "ignorable": ignorable}
    config = builders.scheduler_config(extenders=[entry])
    config["percentageOfNodesToScore"] = example["percentageOfNodesToScore"]
    return config


class ServiceProcess:
    def __init__(
        self, kubeconfig: Path, port: int, log: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.kubeconfig = kubeconfig
        self.port = port
        self.log_path = log
        self.env = {
            **os.environ,
            "SCHEDULER_EXT_PLANNING__DEBOUNCE_SECONDS": "0.5",
            "SCHEDULER_EXT_PLANNING__TIME_LIMIT_SECONDS": "3",
            "SCHEDULER_EXT_CLUSTER__BACKOFF_MAX_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        command = [
            sys.executable,
            "-m",
            "scheduler_ext",
            "serve",
            "--kubeconfig",
            str(self.kubeconfig),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
        return self

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=REQUEST_TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get_json(self, path: str) -> Any:
        status, text = self.get(path)
        assert status == 200, (path, status, text)
        return json.loads(text)

    def post(self, path: str, body: object) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, json.loads(response.read())

    def wait_ready(self, timeout: float = 60.0) -> None:
        def probe() -> int:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited {self.process.returncode}")
            return self.get("/readyz")[0]

        wait_for(
            probe,
            lambda status: status == 200,
            description="the service ready (state synced)",
            timeout=timeout,
            retry=lambda exc: not isinstance(exc, AssertionError),
            describe=lambda status: f"{status}; log: {self.log()[-2000:]}",
        )

    def metric(self, name: str, **labels: str) -> float:
        """A sample from /metrics (0 when absent)."""
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        head = f"{name}{{{wanted}}}" if labels else name
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(head + " "):
                return float(line.split()[-1])
        return 0.0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        terminate(self.process)
        sys.stdout.write(f"---- scheduler-ext serve log (tail) ----\n{self.log()[-LOG_TAIL:]}\n")
