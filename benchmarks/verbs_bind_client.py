"""CPU per ``KubeClient.bind`` in process, against a live API server: the kept connection per
thread beside the ApiClient's urllib3 pool, in alternating blocks.

The bind verb's own work in enforce mode is mostly its Binding POST, once per pod, and the
throughput benchmark's CPU columns cannot tell which part of the service's time that is. Here one
thread binds bare Pending pods of a kwokctl cluster (TLS with client certificates, as kwokctl
writes its kubeconfig; no kube-scheduler, so the pods stay Pending until bound) through two
clients on two ApiClients of the same kubeconfig, in blocks of ``block`` binds taking turns, so
that the machine's load falls on both alike. Each bind's CPU is the thread's own
(``time.thread_time``), which the API server's work does not enter; wall time is shown too.

    python -m benchmarks.verbs bind-client --binds 400 --block 10
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from benchmarks.verbs_throughput import bench_cluster
from scheduler_ext.cluster.client import KubeClient

ARMS = ("pool", "kept")
"""``pool``: through the ApiClient's urllib3 pool (``kept_connections=False``); ``kept``: the
default, this thread's kept-alive connection."""


def _pods(kube: Any, namespace: str, count: int) -> list[tuple[str, str]]:
    """(name, uid) of ``count`` new bare pods in ``namespace``."""
    from testkit import builders

    kube.create(builders.namespace(namespace))
    manifests = [
        builders.pod(f"b-{i:05d}", namespace=namespace, requests={"cpu": "10m"})
        for i in range(count)
    ]
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(kube.create, manifests))
    return [(pod.metadata.name, pod.metadata.uid) for pod in created]


def _timed(bind: Callable[[], None]) -> tuple[float, float]:
    """(CPU us of this thread, wall us) of one call."""
    cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
    bind()
    return (time.thread_time_ns() - cpu) / 1000, (time.perf_counter_ns() - wall) / 1000


def measure_bind_client(binds: int, block: int, nodes: int = 4) -> list[dict[str, Any]]:
    """One row per arm: median and mean CPU and wall us per bind over ``binds`` binds each."""
    with bench_cluster(nodes) as (cluster, kube, _):
        pods = _pods(kube, "bind-client", 2 * binds + 2 * block)
        node_names = [f"node-{i:05d}" for i in range(nodes)]
        clients = {
            arm: KubeClient.connect(
                str(cluster.kubeconfig), namespace="default", kept_connections=arm == "kept"
            )
            for arm in ARMS
        }
        samples: dict[str, list[tuple[float, float]]] = {arm: [] for arm in ARMS}
        try:
            queue = iter(pods)
            for arm in ARMS:  # warm: connections open, code paths run once
                for _ in range(block):
                    name, uid = next(queue)
                    clients[arm].bind("bind-client", name, uid, node_names[0])
            for round_ in range(binds // block):
                order = ARMS if round_ % 2 == 0 else ARMS[::-1]
                for arm in order:
                    for i in range(block):
                        name, uid = next(queue)
                        bind = partial(
                            clients[arm].bind, "bind-client", name, uid, node_names[i % nodes]
                        )
                        samples[arm].append(_timed(bind))
                print(f"round {round_ + 1}/{binds // block}", file=sys.stderr, flush=True)
        finally:
            for client in clients.values():
                client.close()
    return [
        {
            "arm": arm,
            "binds": len(samples[arm]),
            "cpu_us_median": round(statistics.median(c for c, _ in samples[arm])),
            "cpu_us_mean": round(statistics.fmean(c for c, _ in samples[arm])),
            "wall_us_median": round(statistics.median(w for _, w in samples[arm])),
        }
        for arm in ARMS
    ]
