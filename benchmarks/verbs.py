"""Extender verb latency, and kube-scheduler's throughput with and without the extender.

``latency``: the real service (``create_app`` under uvicorn, in its own process) with a
``ClusterStore`` filled from synthetic Node and Pod objects (10 pods per node), answering filter
and prioritize requests shaped like kube-scheduler's with ``nodeCacheCapable: true`` (the recorded
pod, every node name in ``NodeNames``, as with ``percentageOfNodesToScore: 100``), from
``--concurrency`` client threads on keep-alive connections. Latency is the client's round trip.

``throughput``: a kwokctl cluster (tests/kube) with ``--nodes`` kwok nodes and the real
kube-scheduler, once with the stock configuration and once calling ``scheduler-ext serve`` for
all four verbs; ``--pods`` small pods are created from 8 threads and a watch records when each one
is bound. Throughput is pods bound per second between the first and the last binding.

    python -m benchmarks.verbs latency --nodes 100,1000,5000
    python -m benchmarks.verbs throughput --nodes 1000 --pods 1000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RECORDED_POD = REPO / "tests" / "data" / "extender-requests" / "filter.node-cache.json"


# --- latency ----------------------------------------------------------------------------------


def synthetic_objects(nodes: int, pods_per_node: int = 10) -> dict[str, list[dict[str, Any]]]:
    node_objects = [
        {
            "metadata": {"name": f"node-{i:05d}", "labels": {"kubernetes.io/hostname": f"n{i}"}},
            "status": {
                "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
        for i in range(nodes)
    ]
    pods = [
        {
            "metadata": {"name": f"p-{i:05d}-{j}", "namespace": "bench", "uid": f"u-{i}-{j}"},
            "spec": {
                "nodeName": f"node-{i:05d}",
                "containers": [
                    {
                        "name": "c",
                        "resources": {
                            "requests": {"cpu": f"{100 * (1 + (i + j) % 15)}m", "memory": "1Gi"}
                        },
                    }
                ],
            },
            "status": {"phase": "Running"},
        }
        for i in range(nodes)
        for j in range(pods_per_node)
    ]
    return {"Node": node_objects, "Pod": pods}


def serve_synthetic(nodes: int, port: int) -> None:
    """The service on a store of ``nodes`` synthetic nodes (no cluster, no planning loop)."""
    import uvicorn
    from prometheus_client import CollectorRegistry

    from scheduler_ext.app import create_app
    from scheduler_ext.cluster.store import KINDS, ClusterStore
    from scheduler_ext.config import PlanningSettings, Settings

    store = ClusterStore()
    objects = synthetic_objects(nodes)
    for kind in KINDS:
        store.replace(kind, objects.get(kind, []))
    import gc

    gc.freeze()  # as the informers do after each list
    settings = Settings(planning=PlanningSettings(enabled=False))
    app = create_app(settings, store=store, registry=CollectorRegistry())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", workers=1)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered 200 on :{port}{path}")


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


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_latency(nodes: int, concurrency: int, requests: int) -> list[dict[str, Any]]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.verbs", "_serve", str(nodes), str(port)], cwd=REPO
    )
    try:
        _wait_http(port, "/readyz", timeout=120)
        pod = json.loads(RECORDED_POD.read_text())["Pod"]
        body = json.dumps(
            {"Pod": pod, "Nodes": None, "NodeNames": [f"node-{i:05d}" for i in range(nodes)]}
        ).encode()
        rows = []
        for verb in ("filter", "prioritize"):
            _hammer(port, verb, body, 20)  # warm up
            with ThreadPoolExecutor(concurrency) as pool:
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
                    "rps": round(len(times) / elapsed),
                }
            )
        return rows
    finally:
        server.terminate()
        server.wait(10)


# --- throughput on the real control plane ------------------------------------------------------


def _bound_times(kube: Any, namespace: str, count: int, stop: threading.Event) -> list[float]:
    """Watch the namespace and record (monotonic) when each pod is first seen bound."""
    from kubernetes import watch as typed_watch

    watch: Any = typed_watch  # untyped in the client

    seen: dict[str, float] = {}
    while len(seen) < count and not stop.is_set():
        stream = watch.Watch().stream(
            kube.core.list_namespaced_pod, namespace, timeout_seconds=30, _preload_content=False
        )
        for event in stream:
            obj = event["raw_object"]
            if obj.get("spec", {}).get("nodeName"):
                seen.setdefault(obj["metadata"]["name"], time.monotonic())
            if len(seen) >= count or stop.is_set():
                break
    return sorted(seen.values())


def _untaint_ready_nodes(kube: Any, names: list[str]) -> None:
    """Wait for kwok to make every node Ready, then drop the not-ready taint that admission put
    on them: kube-controller-manager removes it at a few nodes per second, which at 1,000 nodes
    would take minutes."""
    from tests.kube.wait import wait_for

    def ready() -> int:
        nodes = kube.core.list_node(_preload_content=False)
        items = json.loads(nodes.data)["items"]
        return sum(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in i["status"].get("conditions", [])
            )
            for i in items
        )

    wait_for(ready, lambda count: count >= len(names), description="nodes Ready", timeout=300)
    patch = {"spec": {"taints": None}}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: kube.core.patch_node(name, patch), names))


def _one_run(nodes: int, pods: int, with_extender: bool, base: Path) -> dict[str, Any]:
    from tests.e2e.service_fixtures import ServiceProcess, extender_config
    from tests.kube import builders
    from tests.kube.bins import ensure_kube_bins
    from tests.kube.cluster import KwokCluster, free_port, unique_name
    from tests.kube.kube import Kube

    bins = ensure_kube_bins(progress=sys.stderr)
    port = free_port()
    config = extender_config(port) if with_extender else builders.scheduler_config()
    label = "with" if with_extender else "without"
    cluster = KwokCluster.create(
        bins, name=unique_name(f"bench-{label}"), scheduler_config=config, base_dir=base / label
    )
    service = None
    try:
        with Kube(cluster.api_client()) as kube:
            manifests = [
                builders.node(f"node-{i:05d}", cpu="32", memory="256Gi") for i in range(nodes)
            ]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(kube.create, manifests))
            _untaint_ready_nodes(kube, [m["metadata"]["name"] for m in manifests])
            if with_extender:
                service = ServiceProcess(cluster.kubeconfig, port, base / "service.log")
                service.start()
                service.wait_ready(timeout=120)
            kube.create(builders.namespace("bench"))
            stop = threading.Event()
            result: list[list[float]] = []
            watcher = threading.Thread(
                target=lambda: result.append(_bound_times(kube, "bench", pods, stop)), daemon=True
            )
            watcher.start()
            time.sleep(1)
            created = time.monotonic()
            manifests = [
                builders.pod(
                    f"p-{i:05d}", namespace="bench", requests={"cpu": "100m", "memory": "128Mi"}
                )
                for i in range(pods)
            ]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(kube.create, manifests))
            create_seconds = time.monotonic() - created
            watcher.join(600)
            stop.set()
            times = result[0] if result else []
            binds = service.metric("scheduler_ext_binds_total", result="ok") if service else 0
            span = times[-1] - times[0] if len(times) > 1 else float("nan")
            return {
                "extender": label,
                "nodes": nodes,
                "pods": pods,
                "bound": len(times),
                "bound_by_extender": int(binds),
                "create_pods_per_s": round(pods / create_seconds),
                "pods_per_s": round((len(times) - 1) / span, 1),
                "end_to_end_s": round(times[-1] - created, 1) if times else float("nan"),
            }
    finally:
        if service is not None:
            service.stop()
        cluster.delete()


def measure_throughput(nodes: int, pods: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-verbs-") as tmp:
        return [_one_run(nodes, pods, with_extender, Path(tmp)) for with_extender in (False, True)]


# --- command line -----------------------------------------------------------------------------


def _table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_serve"]:
        serve_synthetic(int(argv[1]), int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verbs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    lat = commands.add_parser("latency", help="filter/prioritize latency on synthetic state")
    lat.add_argument("--nodes", default="100,1000,5000")
    lat.add_argument("--concurrency", type=int, default=4)
    lat.add_argument("--requests", type=int, default=200, help="per client thread and verb")
    thr = commands.add_parser("throughput", help="kube-scheduler pods/s with and without")
    thr.add_argument("--nodes", type=int, default=1000)
    thr.add_argument("--pods", type=int, default=1000)
    args = parser.parse_args(argv)
    os.chdir(REPO)
    if args.command == "latency":
        rows = []
        for size in (int(n) for n in args.nodes.split(",")):
            rows += measure_latency(size, args.concurrency, args.requests)
            print(_table(rows[-2:]), flush=True)
        print("\n" + _table(rows))
    else:
        rows = measure_throughput(args.nodes, args.pods)
        print(_table(rows))
        without, with_ext = rows
        ratio = with_ext["pods_per_s"] / without["pods_per_s"]
        print(f"\nthroughput with the extender / without: {ratio:.2f}")
        if max(without["pods_per_s"], with_ext["pods_per_s"]) > 0.9 * without["create_pods_per_s"]:
            print("note: binding kept up with pod creation: the rate is creation-bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
