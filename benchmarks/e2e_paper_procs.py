"""The processes one instance of ``benchmarks.e2e_paper`` starts and stops on the shared control
plane: kube-scheduler (kwokctl's own is disabled) and ``scheduler-ext serve``.

kube-scheduler is a process of each phase, not of the control plane: the stock configuration while
the ReplicaSets are applied, the shipped all-verbs extender configuration while scheduler-ext
acts, and none in between. A new process starts with an empty cache and queue, so nothing an
earlier instance or phase left in kube-scheduler's memory (nominations, backoffs, assumed pods)
can carry over; only etcd, kube-apiserver, kube-controller-manager and kwok are shared.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml

from testkit import builders
from testkit.cluster import KwokCluster, free_port
from testkit.processes import start_kube_scheduler, terminate
from testkit.service import extender_config

SHIPPED_BACKOFF = {"podInitialBackoffSeconds": 1, "podMaxBackoffSeconds": 10}
"""kube-scheduler's defaults, which deploy/kube-scheduler-config-all-verbs.yaml keeps too."""


def stock_scheduler_config() -> dict[str, Any]:
    """kube-scheduler's defaults (DefaultPreemption on, backoffs 1 s / 10 s, adaptive
    percentageOfNodesToScore), without leader election (one scheduler)."""
    return builders.scheduler_config(
        percentage_of_nodes_to_score=None,
        pod_initial_backoff_seconds=1,
        pod_max_backoff_seconds=10,
    )


def extender_scheduler_config(port: int) -> dict[str, Any]:
    """The shipped all-verbs configuration (deploy/) pointed at the service on ``port``, with
    the shipped backoffs (the test harness's are shorter)."""
    return {**extender_config(port), **SHIPPED_BACKOFF}


class KubeScheduler:
    """One kube-scheduler process against ``cluster``; a context manager that stops it."""

    def __init__(self, cluster: KwokCluster, config: dict[str, Any], log: Path) -> None:
        self.cluster = cluster
        self.config = {
            **config,
            "clientConnection": {"kubeconfig": str(cluster.kubeconfig), "qps": 100, "burst": 200},
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        path = self.log.with_suffix(".yaml")
        path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        binary = self.cluster.bins.kube_scheduler
        self.process = start_kube_scheduler(binary, path, self.log, port=free_port(), append=True)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        terminate(self.process)
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
