"""kube-scheduler's throughput on a real control plane, with and without the extender.

The extender is one more HTTP hop per verb and pod, so what it costs is measured where it is
paid: a kwokctl cluster (testkit) with kwok nodes and *no* kube-scheduler, so each run's pods are
all created, unscheduled, before the real kube-scheduler binary (hack/kube-bins.sh) starts, with
the stock configuration or with the shipped extender configuration (``scheduler-ext serve``, or
the do-nothing ``benchmarks.stub_extender`` for the protocol's own cost). Pod creation is thus
out of the measurement and the scheduler is the bottleneck. Runs alternate (without, with, with,
without, ...) on the same cluster so that drift falls on both arms alike;
``benchmarks.verbs_meters`` says what each run measures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.verbs_meters import BindWatch, CpuMeter
from benchmarks.verbs_shared import REPO, markdown_table, wait_http


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


CPU_COLUMNS = ("kube-scheduler", "extender", "kube-apiserver", "etcd")
"""Processes whose CPU seconds between first and last binding get a column of their own; the
total also counts kube-controller-manager and kwok."""


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
    label: str | None = None,
    service_env: Mapping[str, str] | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Create ``pods`` pods while no scheduler runs, then start kube-scheduler (and, with the
    extender, ``scheduler-ext serve`` with ``service_env`` or the do-nothing stub first) and time
    first bind to last bind. ``label`` names the run's arm in its row and namespace. With
    ``profile`` (a directory), py-spy samples the service from ready to exit (``_profiler``)."""
    import yaml

    from testkit import builders
    from testkit.cluster import free_port
    from testkit.processes import start_kube_scheduler, terminate
    from testkit.service import ServiceProcess

    name = label or ("with" if with_extender else "without")
    namespace = f"bench-{tag}-{name}".replace("@", "-")  # enforce@base: a DNS label
    kube.create(builders.namespace(namespace))
    manifests = [
        builders.pod(f"p-{i:05d}", namespace=namespace, requests={"cpu": "100m", "memory": "128Mi"})
        for i in range(pods)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(kube.create, manifests))
    cpu = CpuMeter()
    cpu.pids = cluster.pids()
    watch = BindWatch(kube, namespace, pods, cpu)
    watch.start()
    if not watch.listed.wait(120):
        raise RuntimeError(f"the watch saw only {len(watch.seen)} of {pods} pods")
    if watch.bound:
        raise RuntimeError(f"{len(watch.bound)} pods were bound before kube-scheduler started")
    service = None
    stub_process = None
    scheduler = None
    profiler = None
    try:
        port = free_port() if with_extender else None
        if port is not None and stub:
            stub_process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.stub_extender", str(port)], cwd=REPO
            )
            wait_http(port, "/ready")
            cpu.pids["extender"] = stub_process.pid
        elif port is not None:
            service = ServiceProcess(
                cluster.kubeconfig, port, base / f"service-{tag}-{name}.log", env=service_env
            )
            service.start()
            service.wait_ready(timeout=120)
            assert service.process is not None
            cpu.pids["extender"] = service.process.pid
            if profile is not None:
                profiler = _profiler(service.process.pid, profile / f"service-{tag}-{name}.txt")
        config_path = base / f"kube-scheduler-{tag}-{name}.yaml"
        config_path.write_text(
            yaml.safe_dump(
                scheduler_configuration(
                    cluster.kubeconfig, port, qps, verbs=verbs, score_percentage=score_percentage
                ),
                sort_keys=False,
            )
        )
        log = base / f"kube-scheduler-{tag}-{name}.log"
        started = time.monotonic()
        binary = cluster.bins.kube_scheduler
        scheduler = start_kube_scheduler(binary, config_path, log, port=free_port())
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
        rounds = sum(
            service.metric("scheduler_ext_plans_total", outcome=outcome) if service else 0
            for outcome in ("improves", "no_improvement", "failed")
        )
        span = times[-1] - times[0]
        return {
            "extender": label or ("stub " if stub and with_extender else "") + name,
            "run": tag,
            "pods": pods,
            "bound": len(times),
            "bound_by_extender": int(binds),
            "service_events_pod_node": f"{events['Pod']}/{events['Node']}",
            "planning_rounds": int(rounds),
            "start_to_first_bind_s": round(times[0] - started, 2),
            "first_to_last_bind_s": round(span, 2),
            "pods_per_s": round((len(times) - 1) / span, 1),
            **{f"cpu_s {name}": round(cpu.spent.get(name, 0.0), 2) for name in CPU_COLUMNS},
            "cpu_s total": round(sum(cpu.spent.values()), 2),
        }
    finally:
        watch.stop.set()
        terminate(scheduler)
        terminate(service.process if service is not None else None)
        terminate(stub_process)
        if profiler is not None:
            profiler.wait(60)  # it writes its file when the service exits


def _profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``) sampling ``pid`` without pausing it, until it exits: the
    collapsed stacks (one line per stack and its sample count) go to ``out``. Sampling costs the
    machine CPU of its own: profiled runs are for where the time goes, not for figures."""
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--nonblocking"]
    # --gil: only the thread holding the GIL is sampled, i.e. where the service's Python runs.
    command += ["--gil", "--rate", "200", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


@contextmanager
def bench_cluster(nodes: int, *, crds: bool = False) -> Iterator[tuple[Any, Any, Path]]:
    """(cluster, kube, work directory): one kwokctl cluster without kube-scheduler, ``nodes``
    Ready kwok nodes, and with ``crds`` the service's CRDs installed (as the chart does)."""
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
            if crds:
                cluster.install_crds()
            with Kube(cluster.api_client()) as kube:
                manifests = [
                    builders.node(f"node-{i:05d}", cpu="32", memory="256Gi") for i in range(nodes)
                ]
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(kube.create, manifests))
                _untaint_ready_nodes(kube, [m["metadata"]["name"] for m in manifests])
                yield cluster, kube, base
        finally:
            cluster.delete()


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
    """``repeats`` rounds of a run without and a run with the extender on one cluster
    (``bench_cluster``), in alternating order (ABBA...) so that drift (a growing cluster, other
    load on the machine) falls on both alike."""
    with bench_cluster(nodes) as (cluster, kube, base):
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
                print(markdown_table([row]), file=sys.stderr, flush=True)
                rows.append(row)
        return rows
