"""What the throughput benchmark measures: when each pod is bound, and who spent the CPU.

Throughput is pods bound per second from the first to the last binding, so the clock must start
at the first binding seen and not when kube-scheduler starts: ``BindWatch`` watches the run's
namespace from before the scheduler starts and stamps each pod's first binding with
``time.monotonic()``. On a machine whose cores are all busy, throughput is what the CPU allows,
so ``CpuMeter`` reads each process's CPU seconds (``/proc/PID/stat``) at the first and last
binding: kube-scheduler, the extender, and the cluster's components from kwokctl's pid files.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each named process spends between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self._start: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> None:
        for name, pid in self.pids.items():
            try:
                self.spent[name] = cpu_seconds(pid) - self._start.get(name, 0.0)
            except FileNotFoundError:
                continue


class BindWatch(threading.Thread):
    """Watches one namespace from before kube-scheduler starts and records, with
    ``time.monotonic()``, when each pod is first seen bound (``spec.nodeName`` set); ``cpu``
    is started at the first binding and stopped at the last."""

    def __init__(self, kube: Any, namespace: str, count: int, cpu: CpuMeter) -> None:
        super().__init__(daemon=True)
        self.kube = kube
        self.namespace = namespace
        self.count = count
        self.cpu = cpu
        self.seen: set[str] = set()
        self.bound: dict[str, float] = {}
        self.listed = threading.Event()  # every pod seen (the watch is established)
        self.done = threading.Event()  # every pod bound
        self.stop = threading.Event()

    def run(self) -> None:
        core = self.kube.core
        version = ""
        while not self.done.is_set() and not self.stop.is_set():
            response = core.list_namespaced_pod(
                self.namespace,
                watch=True,
                resource_version=version or None,
                timeout_seconds=60,
                _preload_content=False,
            )
            try:
                for line in response:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] == "ERROR":  # 410 Gone: start over with a fresh list
                        version = ""
                        break
                    version = obj["metadata"].get("resourceVersion", version)
                    name = obj["metadata"]["name"]
                    self.seen.add(name)
                    if obj.get("spec", {}).get("nodeName") and name not in self.bound:
                        self.bound[name] = time.monotonic()
                        if len(self.bound) == 1:
                            self.cpu.start()
                    if len(self.seen) >= self.count:
                        self.listed.set()
                    if len(self.bound) >= self.count and not self.done.is_set():
                        self.cpu.stop()
                        self.done.set()
                    if self.done.is_set() or self.stop.is_set():
                        break
            finally:
                response.close()

    def times(self) -> list[float]:
        return sorted(self.bound.values())
