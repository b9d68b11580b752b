"""Extender verb latency, and kube-scheduler's throughput with and without the extender.

``latency``: the real service (``create_app`` under uvicorn, in its own process) with a
``ClusterStore`` filled from synthetic Node and Pod objects (10 pods per node), answering filter
and prioritize requests shaped like kube-scheduler's with ``nodeCacheCapable: true`` (the recorded
pod, every node name in ``NodeNames``, as with ``percentageOfNodesToScore: 100``), from
``--concurrency`` client threads on keep-alive connections. Latency is the client's round trip.

``throughput``: a kwokctl cluster (testkit) with ``--nodes`` kwok nodes and *no*
kube-scheduler. Each run creates ``--pods`` small pods in a namespace of its own while nothing
schedules them, then starts the real kube-scheduler binary (hack/kube-bins.sh) with the stock
configuration, or with ``scheduler-ext serve`` (started first) and the shipped extender
configuration (``--verbs`` picks other verbs; ``--stub`` calls a do-nothing extender instead of
the service); a watch opened before the scheduler starts records when each pod is bound.
Throughput is pods bound per second from the first to the last binding, so pod creation is out
of the measurement and the scheduler is the bottleneck. Runs alternate (without, with, with,
without, ...) ``--repeats`` times each on the same cluster. Each row also gives the CPU seconds
the processes spent from the first to the last binding (``/proc/PID/stat``): on a machine whose
cores are all busy, throughput is what the CPU allows, and these columns say who took it.

    python -m benchmarks.verbs latency --nodes 100,1000,5000
    python -m benchmarks.verbs throughput --nodes 1000 --pods 1000 --repeats 3
    python -m benchmarks.verbs throughput --verbs filter,prioritize,preempt,bind
    python -m benchmarks.verbs throughput --stub --verbs filter,prioritize,preempt
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


def measure_latency(
    nodes: int, concurrency: int, requests: int, source: Path = REPO
) -> list[dict[str, Any]]:
    """``source``: the checkout whose service is measured (another one for a before/after)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.verbs", "_serve", str(nodes), str(port)], cwd=source
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


CPU_COLUMNS = ("kube-scheduler", "extender", "kube-apiserver", "etcd")
"""Processes whose CPU seconds between first and last binding get a column of their own; the
total also counts kube-controller-manager and kwok."""


def cluster_pids(cluster: Any) -> dict[str, int]:
    """The cluster's component processes, from kwokctl's pid files."""
    pid_dir = cluster.workdir / "clusters" / cluster.name / "pids"
    return {path.stem: int(path.read_text().strip()) for path in sorted(pid_dir.glob("*.pid"))}


def _untaint_ready_nodes(kube: Any, names: list[str]) -> None:
    """Wait for kwok to make every node Ready, then drop the not-ready taint that admission put
    on them: kube-controller-manager removes it at a few nodes per second, which at 1,000 nodes
    would take minutes."""
    from testkit.wait import wait_for

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


def _terminate(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


ALL_VERBS = ("filter", "prioritize", "preempt", "bind")


def shipped_verbs() -> tuple[str, ...]:
    """The verbs of the shipped (dry-run) configuration, deploy/kube-scheduler-config.yaml."""
    from testkit.service import DRY_RUN_CONFIG, shipped_extender

    _, entry = shipped_extender(DRY_RUN_CONFIG)
    return tuple(verb for verb in ALL_VERBS if entry.get(f"{verb}Verb"))


def scheduler_configuration(
    kubeconfig: Path,
    extender_port: int | None,
    qps: int,
    *,
    verbs: Sequence[str],
    score_percentage: int = 100,
) -> Any:
    """kube-scheduler's configuration for one run: the stock plugins, or the shipped extender
    configuration (deploy/, node cache on) pointed at ``extender_port`` with the ``verbs`` given
    (without ``bind`` kube-scheduler binds itself); ``percentageOfNodesToScore`` in both (100:
    every node is filtered, scored and sent to the extender; 0: kube-scheduler's adaptive default,
    about 42% at 1,000 nodes); the API client's rate limit at ``qps`` (burst 2 x qps)."""
    from testkit import builders
    from testkit.service import extender_config

    config = (
        extender_config(extender_port) if extender_port is not None else builders.scheduler_config()
    )
    if extender_port is not None:
        for extender in config["extenders"]:
            for verb in ALL_VERBS:
                if verb not in verbs:
                    extender.pop(f"{verb}Verb", None)
                else:
                    extender[f"{verb}Verb"] = verb
    config["percentageOfNodesToScore"] = score_percentage
    config["clientConnection"] = {"kubeconfig": str(kubeconfig), "qps": qps, "burst": 2 * qps}
    return config


def _one_run(
    cluster: Any,
    kube: Any,
    *,
    pods: int,
    with_extender: bool,
    qps: int,
    tag: str,
    base: Path,
    verbs: Sequence[str],
    stub: bool = False,
    score_percentage: int = 100,
) -> dict[str, Any]:
    """Create ``pods`` pods while no scheduler runs, then start kube-scheduler (and, with the
    extender, ``scheduler-ext serve`` or the do-nothing stub first) and time first bind to last
    bind."""
    import yaml

    from testkit import builders
    from testkit.cluster import free_port
    from testkit.service import ServiceProcess

    label = "with" if with_extender else "without"
    namespace = f"bench-{tag}-{label}"
    kube.create(builders.namespace(namespace))
    manifests = [
        builders.pod(f"p-{i:05d}", namespace=namespace, requests={"cpu": "100m", "memory": "128Mi"})
        for i in range(pods)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(kube.create, manifests))
    cpu = CpuMeter()
    cpu.pids = cluster_pids(cluster)
    watch = BindWatch(kube, namespace, pods, cpu)
    watch.start()
    if not watch.listed.wait(120):
        raise RuntimeError(f"the watch saw only {len(watch.seen)} of {pods} pods")
    if watch.bound:
        raise RuntimeError(f"{len(watch.bound)} pods were bound before kube-scheduler started")
    service = None
    stub_process = None
    scheduler = None
    try:
        port = free_port() if with_extender else None
        if port is not None and stub:
            stub_process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.stub_extender", str(port)], cwd=REPO
            )
            _wait_http(port, "/ready")
            cpu.pids["extender"] = stub_process.pid
        elif port is not None:
            service = ServiceProcess(cluster.kubeconfig, port, base / f"service-{tag}.log")
            service.start()
            service.wait_ready(timeout=120)
            assert service.process is not None
            cpu.pids["extender"] = service.process.pid
        config_path = base / f"kube-scheduler-{tag}-{label}.yaml"
        config_path.write_text(
            yaml.safe_dump(
                scheduler_configuration(
                    cluster.kubeconfig, port, qps, verbs=verbs, score_percentage=score_percentage
                ),
                sort_keys=False,
            )
        )
        log = (base / f"kube-scheduler-{tag}-{label}.log").open("wb")
        started = time.monotonic()
        with log:
            scheduler = subprocess.Popen(
                [
                    str(cluster.bins.kube_scheduler),
                    f"--config={config_path}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={free_port()}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        cpu.pids["kube-scheduler"] = scheduler.pid
        if not watch.done.wait(600):
            raise RuntimeError(f"only {len(watch.bound)} of {pods} pods bound in 600 s")
        times = watch.times()
        binds = service.metric("scheduler_ext_binds_total", result="ok") if service else 0
        events = {
            kind: int(service.metric("scheduler_ext_watch_events_total", kind=kind))
            if service
            else 0
            for kind in ("Pod", "Node")
        }
        span = times[-1] - times[0]
        return {
            "extender": ("stub " if stub and with_extender else "") + label,
            "run": tag,
            "pods": pods,
            "bound": len(times),
            "bound_by_extender": int(binds),
            "service_events_pod_node": f"{events['Pod']}/{events['Node']}",
            "start_to_first_bind_s": round(times[0] - started, 2),
            "first_to_last_bind_s": round(span, 2),
            "pods_per_s": round((len(times) - 1) / span, 1),
            **{f"cpu_s {name}": round(cpu.spent.get(name, 0.0), 2) for name in CPU_COLUMNS},
            "cpu_s total": round(sum(cpu.spent.values()), 2),
        }
    finally:
        watch.stop.set()
        _terminate(scheduler)
        _terminate(service.process if service is not None else None)
        _terminate(stub_process)


def measure_throughput(
    nodes: int,
    pods: int,
    repeats: int,
    qps: int,
    *,
    verbs: Sequence[str],
    stub: bool = False,
    score_percentage: int = 100,
) -> list[dict[str, Any]]:
    """One kwokctl cluster without kube-scheduler; ``nodes`` kwok nodes; then ``repeats`` rounds
    of a run without and a run with the extender, in alternating order (ABBA...) so that drift
    (a growing cluster, other load on the machine) falls on both alike."""
    from testkit import builders
    from testkit.bins import ensure_kube_bins
    from testkit.cluster import KwokCluster, unique_name
    from testkit.kube import Kube

    bins = ensure_kube_bins(progress=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-verbs-") as tmp:
        base = Path(tmp)
        cluster = KwokCluster.create(
            bins, name=unique_name("bench"), base_dir=base / "cluster", disable=["kube-scheduler"]
        )
        try:
            with Kube(cluster.api_client()) as kube:
                manifests = [
                    builders.node(f"node-{i:05d}", cpu="32", memory="256Gi") for i in range(nodes)
                ]
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(kube.create, manifests))
                _untaint_ready_nodes(kube, [m["metadata"]["name"] for m in manifests])
                rows = []
                for rep in range(repeats):
                    order = (False, True) if rep % 2 == 0 else (True, False)
                    for with_extender in order:
                        row = _one_run(
                            cluster,
                            kube,
                            pods=pods,
                            with_extender=with_extender,
                            qps=qps,
                            tag=f"r{rep + 1}",
                            base=base,
                            verbs=verbs,
                            stub=stub,
                            score_percentage=score_percentage,
                        )
                        row = {"nodes": nodes, **row}
                        print(_table([row]), file=sys.stderr, flush=True)
                        rows.append(row)
                return rows
        finally:
            cluster.delete()


# --- command line -----------------------------------------------------------------------------


def _table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)


def _verbs(text: str) -> tuple[str, ...]:
    verbs = tuple(verb.strip() for verb in text.split(",") if verb.strip())
    unknown = sorted(set(verbs) - set(ALL_VERBS))
    if unknown or not verbs:
        raise SystemExit(f"--verbs: choose among {', '.join(ALL_VERBS)}, not {text!r}")
    return verbs


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
    lat.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git worktree` of the previous commit): its service is "
        "measured right before this one's, at each size",
    )
    thr = commands.add_parser("throughput", help="kube-scheduler pods/s with and without")
    thr.add_argument("--nodes", type=int, default=1000)
    thr.add_argument("--pods", type=int, default=1000, help="per run")
    thr.add_argument("--repeats", type=int, default=3, help="runs of each variant")
    thr.add_argument(
        "--qps", type=int, default=1000, help="kube-scheduler's clientConnection.qps (burst 2x)"
    )
    thr.add_argument(
        "--verbs",
        help="the verbs kube-scheduler calls, e.g. filter,prioritize,preempt,bind (default: "
        "those of the shipped deploy/kube-scheduler-config.yaml; without bind kube-scheduler "
        "binds itself)",
    )
    thr.add_argument(
        "--stub",
        action="store_true",
        help="call benchmarks/stub_extender.py (does nothing) instead of the service: the "
        "protocol's own cost (no bind)",
    )
    thr.add_argument(
        "--percentage-of-nodes-to-score",
        type=int,
        default=100,
        help="kube-scheduler's percentageOfNodesToScore in both arms (0: its adaptive default)",
    )
    args = parser.parse_args(argv)
    os.chdir(REPO)
    if args.command == "latency":
        rows = []
        sources = [("baseline", args.baseline.resolve())] if args.baseline else []
        sources.append(("this", REPO))
        for size in (int(n) for n in args.nodes.split(",")):
            for name, source in sources:
                measured = measure_latency(size, args.concurrency, args.requests, source)
                if args.baseline:
                    measured = [{"service": name, **row} for row in measured]
                rows += measured
                print(_table(rows[-2:]), flush=True)
        print("\n" + _table(rows))
    else:
        rows = measure_throughput(
            args.nodes,
            args.pods,
            args.repeats,
            args.qps,
            verbs=_verbs(args.verbs) if args.verbs else shipped_verbs(),
            stub=args.stub,
            score_percentage=args.percentage_of_nodes_to_score,
        )
        print(_table(rows))
        medians = {
            label: statistics.median(
                r["pods_per_s"] for r in rows if r["extender"].split()[-1] == label
            )
            for label in ("without", "with")
        }
        rounds = [
            rows[i + 1]["pods_per_s"] / rows[i]["pods_per_s"]
            if rows[i]["extender"].endswith("without")
            else rows[i]["pods_per_s"] / rows[i + 1]["pods_per_s"]
            for i in range(0, len(rows) - 1, 2)
        ]
        print(
            f"\nmedian pods/s: without {medians['without']:.1f}, with {medians['with']:.1f}; "
            f"with / without = {medians['with'] / medians['without']:.2f}; per round "
            f"{', '.join(f'{r:.2f}' for r in rounds)} (median {statistics.median(rounds):.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
