"""Extender verb latency: the real service answering filter and prioritize on synthetic state.

The service runs as deployed (``create_app`` under uvicorn, in its own process) but on a
``ClusterStore`` filled from synthetic Node and Pod objects (10 pods per node) instead of
informers, so a request's cost is the service's alone, not the API server's. Bodies are shaped
like kube-scheduler's with ``nodeCacheCapable: true`` (the recorded pod, every node name in
``NodeNames``, as with ``percentageOfNodesToScore: 100``), sent from ``concurrency`` client
threads on keep-alive connections; latency is the client's round trip.

``storm_mib``: while the small calls are measured, one more client posts filter bodies of that
size (every Node object inline, as kube-scheduler sends without ``nodeCacheCapable``) back to back,
so the rows say what a burst of large bodies costs everyone else's calls.

The service is started as ``python -m benchmarks.verbs _serve NODES PORT`` in the checkout being
measured, so ``--baseline`` can measure another checkout's service (an older commit's) with this
one's client: keep that entry point as it is.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.verbs_shared import REPO, wait_http

RECORDED_POD = REPO / "tests" / "data" / "extender-requests" / "filter.node-cache.json"


def synthetic_objects(nodes: int, pods_per_node: int = 10) -> dict[str, list[dict[str, Any]]]:
    from testkit import builders

    node_objects = [
        builders.api_node(
            f"node-{i:05d}",
            allocatable={"cpu": "16", "memory": "64Gi", "pods": "110"},
            labels={"kubernetes.io/hostname": f"n{i}"},
        )
        for i in range(nodes)
    ]
    pods = [
        builders.api_pod(
            f"p-{i:05d}-{j}",
            namespace="bench",
            uid=f"u-{i}-{j}",
            node_name=f"node-{i:05d}",
            requests={"cpu": f"{100 * (1 + (i + j) % 15)}m", "memory": "1Gi"},
        )
        for i in range(nodes)
        for j in range(pods_per_node)
    ]
    return {"Node": node_objects, "Pod": pods}


def serve_synthetic(nodes: int, port: int) -> None:
    """The service on a store of ``nodes`` synthetic nodes (no cluster, no planning loop)."""
    import uvicorn
    from prometheus_client import CollectorRegistry

    from scheduler_ext.app import create_app
    from scheduler_ext.cluster.kinds import KINDS
    from scheduler_ext.cluster.store import ClusterStore
    from scheduler_ext.config import PlanningSettings, Settings

    store = ClusterStore()
    objects = synthetic_objects(nodes)
    for kind in KINDS:
        store.replace(kind, objects.get(kind, []))
    import gc

    gc.freeze()  # as the informers do after each list
    settings = Settings(planning=PlanningSettings(enabled=False))
    app = create_app(settings, store=store, registry=CollectorRegistry())
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", workers=1, proxy_headers=False
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hammer(port: int, verb: str, body: bytes, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"content-type": "application/json"}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("POST", f"/scheduler/{verb}", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{verb}: HTTP {response.status}")
    conn.close()
    return times


def _storm_body(mib: int) -> bytes:
    """A filter body of about ``mib`` MiB: the recorded pod and that many bytes of Node objects."""
    recorded = json.loads((RECORDED_POD.parent / "filter.full-nodes.json").read_text())
    node = recorded["Nodes"]["items"][0]
    count = max(1, mib * 1024 * 1024 // len(json.dumps(node)))
    items = [{**node, "metadata": {**node["metadata"], "name": f"storm-{i}"}} for i in range(count)]
    return json.dumps({"Pod": recorded["Pod"], "Nodes": {"items": items}}).encode()


def _storm(port: int, body: bytes, stop: threading.Event) -> int:
    """Large filter bodies back to back until ``stop``; how many were answered."""
    answered = 0
    while not stop.is_set():
        answered += len(_hammer(port, "filter", body, 1))
    return answered


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_latency(
    nodes: int, concurrency: int, requests: int, source: Path = REPO, storm_mib: int = 0
) -> list[dict[str, Any]]:
    """``source``: the checkout whose service is measured (another one for a before/after)."""
    storm = _storm_body(storm_mib) if storm_mib else b""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.verbs", "_serve", str(nodes), str(port)], cwd=source
    )
    try:
        wait_http(port, "/readyz", timeout=120)
        pod = json.loads(RECORDED_POD.read_text())["Pod"]
        body = json.dumps(
            {"Pod": pod, "Nodes": None, "NodeNames": [f"node-{i:05d}" for i in range(nodes)]}
        ).encode()
        rows = []
        for verb in ("filter", "prioritize"):
            _hammer(port, verb, body, 20)  # warm up
            stop = threading.Event()
            with ThreadPoolExecutor(concurrency + 1) as pool:
                storming = pool.submit(_storm, port, storm, stop) if storm else None
                started = time.perf_counter()
                runs = list(
                    pool.map(
                        _hammer,
                        [port] * concurrency,
                        [verb] * concurrency,
                        [body] * concurrency,
                        [requests] * concurrency,
                    )
                )
                elapsed = time.perf_counter() - started
                stop.set()
                large = storming.result() if storming else 0
            times = [t for run in runs for t in run]
            rows.append(
                {
                    "nodes": nodes,
                    "verb": verb,
                    "concurrency": concurrency,
                    "requests": len(times),
                    "body_kib": round(len(body) / 1024),
                    "p50_ms": round(statistics.median(times) * 1000, 2),
                    "p99_ms": round(_percentile(times, 0.99) * 1000, 2),
                    "max_ms": round(max(times) * 1000, 2),
                    "rps": round(len(times) / elapsed),
                    **({"storm_mib": storm_mib, "large_answered": large} if storm else {}),
                }
            )
        return rows
    finally:
        server.terminate()
        server.wait(10)
