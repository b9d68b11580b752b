"""Faults for end-to-end tests on a kwokctl cluster: a component paused (SIGSTOP) or restarted.

- ``paused(cluster, "kwok-controller")``: kwok is what deletes a Terminating pod and marks a
  bound pod Running (its pod-delete stage empties finalizers at once, so neither a finalizer nor
  a grace period keeps an evicted pod around). Paused, an evicted victim stays Terminating and a
  plan stays in Evicting for as long as a test needs: "mid-plan", deterministically. Node leases
  are not renewed meanwhile: give kube-controller-manager a long ``node-monitor-grace-period``.
- ``restart(cluster, "kube-apiserver", down=...)``: the component's process is stopped (SIGTERM,
  or the signal given; SIGKILL if it outlives 20 s), kept down ``down`` seconds, and started
  again with the same command line, environment and working directory; its pid file gets the
  new pid, so that ``kwokctl delete cluster`` stops the new process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from testkit.cluster import KwokCluster
from testkit.wait import WaitTimeout, wait_for

_STARTED: list[subprocess.Popen[bytes]] = []
"""The processes ``restart`` started: kept referenced (kwokctl stops them, by their pid file)."""


def _pid_file(cluster: KwokCluster, component: str) -> Path:
    return cluster.workdir / "clusters" / cluster.name / "pids" / f"{component}.pid"


@contextlib.contextmanager
def paused(cluster: KwokCluster, component: str) -> Iterator[None]:
    pid = cluster.pids()[component]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))


def restart(cluster: KwokCluster, component: str, *, down: float, sig: int = signal.SIGTERM) -> int:
    """Stop ``component`` (``sig``; SIGKILL: a crash), wait ``down`` seconds, start it again;
    the new pid."""
    pid = cluster.pids()[component]
    proc = Path(f"/proc/{pid}")
    argv = [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
    environ = dict(
        item.decode().split("=", 1)
        for item in (proc / "environ").read_bytes().split(b"\0")
        if b"=" in item
    )
    cwd = os.readlink(proc / "cwd")
    os.kill(pid, sig)
    try:
        wait_for(
            lambda: _alive(pid),
            lambda alive: not alive,
            description=f"{component} stopped",
            timeout=20,
        )
    except WaitTimeout:
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: _alive(pid),
            lambda alive: not alive,
            description=f"{component} killed",
            timeout=10,
        )
    time.sleep(down)
    log = cluster.log_dir / f"{component}.log"
    with log.open("ab") as out:
        started = subprocess.Popen(
            argv, cwd=cwd, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _STARTED.append(started)
    _pid_file(cluster, component).write_text(str(started.pid))
    return started.pid
