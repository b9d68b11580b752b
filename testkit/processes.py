"""The processes tests and benchmarks run beside a kwokctl cluster, started and stopped one way.

kube-scheduler runs as a process of its own wherever a run or a phase wants a fresh one (an empty
cache and queue: nothing an earlier run left in its memory carries over), so the benchmarks start
it from hack/kube-bins.sh's binary rather than kwokctl's. Every process is stopped with SIGTERM
first, SIGKILL only if it has not exited within its grace period, so its log ends cleanly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def start_kube_scheduler(
    binary: Path, config: Path, log: Path, *, port: int, append: bool = False
) -> subprocess.Popen[bytes]:
    """kube-scheduler on the configuration file ``config`` (it names its kubeconfig), serving
    its own endpoints on 127.0.0.1:``port`` (``testkit.cluster.free_port``); stdout and stderr
    to ``log`` (appended to with ``append``, else written anew)."""
    with log.open("ab" if append else "wb") as out:
        return subprocess.Popen(
            [
                str(binary),
                f"--config={config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def terminate(process: subprocess.Popen[bytes] | None, grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if ``process`` is still running ``grace`` seconds later."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
