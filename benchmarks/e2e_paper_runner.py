"""The loop of ``benchmarks.e2e_paper run``: each instance placed by the real kube-scheduler, then
scheduler-ext executing its plan at each budget; one JSON line per (instance, budget).

Per instance, on the shared control plane (or a fresh one per instance with ``fresh``, to measure
what sharing saves): nodes and a namespace of its own; the stock kube-scheduler process applies
and settles the ReplicaSets (``e2e_paper_kube``) and stops; the state is read and saved as a
snapshot (to plan it again offline); the first budget runs on that very state
(``e2e_paper_exec``), each further one on the state rebuilt (``e2e_paper_replay``). The plan each
budget made is checked by the independent checker on the state it was made on
(``testkit/checker.py``); the placement after is what runs. Then every pod and node of the
instance is deleted and waited for before the next.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.e2e_paper_exec import Executed, ServiceRun
from benchmarks.e2e_paper_kube import (
    apply_and_settle,
    create_nodes,
    delete_instance,
    ensure_priority_classes,
    wait_settled,
)
from benchmarks.e2e_paper_observe import account, layout, observe, running_vector
from benchmarks.e2e_paper_procs import KubeScheduler, stock_scheduler_config
from benchmarks.e2e_paper_replay import replay
from benchmarks.workloads_kubectl import to_kubectl_list
from benchmarks.workloads_paper import PaperSpec
from scheduler_ext.cluster.client import read_cluster
from scheduler_ext.domain import Cluster, ResourceList
from testkit.bins import ensure_kube_bins
from testkit.checker import check_plan
from testkit.cluster import KwokCluster
from testkit.kube import Kube


def _instance(cluster: Cluster, namespace: str, nodes: Sequence[str]) -> Cluster:
    """The live cluster narrowed to this instance: its nodes, its pods."""
    names = set(nodes)
    return Cluster(
        nodes=tuple(n for n in cluster.nodes if n.name in names),
        pods=tuple(p for p in cluster.pods if p.namespace == namespace and not p.terminating),
        priority_classes=cluster.priority_classes,
        namespaces=tuple(ns for ns in cluster.namespaces if ns.name == namespace),
        budgets=tuple(b for b in cluster.budgets if b.namespace == namespace),
    )


def overcommitted(state: Cluster) -> list[str]:
    """Nodes whose bound pods request more than the node has: a kwok node runs whatever is bound
    to it (no kubelet admission), so a placement that oversubscribes shows as pods Running."""
    over = []
    for node in state.nodes:
        pods = [p for p in state.pods if p.node_name == node.name and not p.terminating]
        total = sum((p.requests for p in pods), ResourceList())
        if any(total.get(r) > node.allocatable.get(r) for r in total.names()) or len(
            pods
        ) > node.allocatable.get("pods"):
            over.append(node.name)
    return over


def _checked(state: Cluster, done: Executed, priorities: Sequence[int]) -> list[int] | str | None:
    """The independent checker's placement after the plan, highest priority first (None: no
    plan; a string: what the checker refused)."""
    if not done.plan:
        return None
    try:
        result = check_plan(state, done.plan)
    except AssertionError as exc:
        return f"checker: {exc}"
    by_priority = dict(zip(result.priorities, result.after, strict=True))
    return [by_priority.get(p, 0) for p in priorities]


def _row(
    spec: PaperSpec, budget: float, placed: dict[str, Any], state: str, done: Executed
) -> dict[str, Any]:
    priorities = list(range(spec.priorities, 0, -1))
    outcome = account(done.before, done.after, done.spec, done.outcome == "Completed")
    return {
        "instance": spec.name,
        "nodes": spec.nodes,
        "ppn": spec.pods_per_node,
        "k": spec.priorities,
        "util": spec.util,
        "seed": spec.seed,
        "budget": budget,
        **placed,
        "state": state,
        "state_running": running_vector(done.before, priorities),
        "after": "running",
        "outcome": done.outcome,
        "reason": done.reason,
        "optimal": done.optimal,
        "solver": done.solver,
        "plan_wall": done.plan_wall,
        "seconds_to_running": done.seconds_to_running,
        "service_startup_seconds": done.startup_seconds,
        "moves": len(done.spec.get("moves", [])),
        "evictions": len(done.spec.get("evictions", [])),
        "bindings": len(done.spec.get("bindings", [])),
        "after_vector": running_vector(done.after, priorities),
        "lost": outcome.lost,
        "off_plan": outcome.off_plan,
        "pdb_violations": outcome.pdb_violations,
        "guarded": outcome.guarded,
    }


@contextlib.contextmanager
def _control_plane(shared: KwokCluster | None, timings: dict[str, float]) -> Iterator[KwokCluster]:
    if shared is not None:
        yield shared
        return
    started = time.monotonic()
    cluster = KwokCluster.create(ensure_kube_bins(), disable=("kube-scheduler",))
    try:
        cluster.install_crds()
        timings["control_plane_seconds"] = time.monotonic() - started
        yield cluster
    finally:
        started = time.monotonic()
        cluster.delete()
        timings["control_plane_seconds"] += time.monotonic() - started


def _recovered(
    kwok: KwokCluster, kube: Kube, spec: PaperSpec, namespace: str, done: Executed, logs: Path
) -> int:
    """Pods still lost once the stock kube-scheduler has had its turn after a plan that did not
    complete: the service and its kube-scheduler stop the moment the plan ends, so a moved pod's
    replacement created just before may simply not have been tried yet."""
    total = sum(1 for _ in done.before)
    with KubeScheduler(kwok, stock_scheduler_config(), logs / "recovery-scheduler.log") as sched:
        wait_settled(kube, namespace, total, scheduler=sched)
    return account(done.before, observe(kube, namespace), done.spec, False).lost


def _service(kwok: KwokCluster, kube: Kube, budget: float, logs: Path) -> ServiceRun:
    directory = logs / f"budget-{budget:g}"
    directory.mkdir(exist_ok=True)
    return ServiceRun(kwok, kube, budget, directory).start()


def _one(
    kwok: KwokCluster,
    spec: PaperSpec,
    index: int,
    budgets: Sequence[float],
    out: Path,
    guard_every: int,
) -> list[dict[str, Any]]:
    logs = out.parent / "e2e-paper-logs" / f"{index:03d}-{spec.name}"
    logs.mkdir(parents=True, exist_ok=True)
    rows = []
    with Kube(kwok.api_client()) as kube:
        ensure_priority_classes(kube)
        nodes = create_nodes(kube, spec, index)
        namespaces = [f"paper-{index}"]
        service: ServiceRun | None = None
        try:
            service = _service(kwok, kube, budgets[0], logs)  # a follower while kube settles
            stock = KubeScheduler(kwok, stock_scheduler_config(), logs / "stock-scheduler.log")
            with stock:
                placed = apply_and_settle(kube, spec, namespaces[0], guard_every, scheduler=stock)
            target = layout(observe(kube, namespaces[0]))
            priorities = list(range(spec.priorities, 0, -1))
            kube_part: dict[str, Any] = {
                "kube_running": [placed.running.get(p, 0) for p in priorities],
                "kube_pending": placed.pending,
                "kube_settle_seconds": round(placed.seconds, 1),
            }
            for i, budget in enumerate(budgets):
                if i:
                    namespaces.append(f"paper-{index}-r{i}")
                    rebuild_started = time.monotonic()
                    service = _service(kwok, kube, budget, logs)
                    delete_instance(kube, namespaces[-2:-1], [])
                    replay(
                        kube,
                        kwok,
                        spec,
                        namespaces[-1],
                        target,
                        guard_every=guard_every,
                        log=logs / f"replay-{i}-scheduler.log",
                    )
                    kube_part["rebuild_seconds"] = round(time.monotonic() - rebuild_started, 1)
                state = _instance(read_cluster(str(kwok.kubeconfig)), namespaces[-1], nodes)
                snapshots = out.parent / "snapshots"
                snapshots.mkdir(exist_ok=True)  # to plan the same state again offline
                name = spec.name if not i else f"{spec.name}-rebuilt"
                (snapshots / f"{name}.json").write_text(json.dumps(to_kubectl_list(state)))
                assert service is not None
                done = service.act(namespaces[-1])
                row = _row(spec, budget, kube_part, "rebuilt" if i else "kube-scheduler", done)
                row["checked_after"] = _checked(state, done, priorities)
                if done.outcome != "Completed" and row["lost"]:
                    row["lost_after_recovery"] = _recovered(
                        kwok, kube, spec, namespaces[-1], done, logs
                    )
                row["overcommitted_before"] = overcommitted(state)
                final = _instance(read_cluster(str(kwok.kubeconfig)), namespaces[-1], nodes)
                row["overcommitted_after"] = overcommitted(final)
                row["unplanned"] = dict(
                    Counter(u["reason"] for u in done.plan.get("spec", {}).get("unplanned", []))
                )
                if row["overcommitted_after"] or row["lost"] or done.outcome != "Completed":
                    (snapshots / f"{name}-after-{budget:g}.json").write_text(
                        json.dumps(to_kubectl_list(final))
                    )
                rows.append(row)
        finally:
            if service is not None:
                service.stop()
            started = time.monotonic()
            delete_instance(kube, namespaces, nodes)
            for row in rows:
                row["cleanup_seconds"] = round(time.monotonic() - started, 1)
    return rows


def run_grid(
    specs: Sequence[PaperSpec],
    budgets: Sequence[float],
    out: Path,
    done: set[tuple[str, float]],
    *,
    guard_every: int = 0,
    fresh: bool = False,
) -> int:
    """Run every (instance, budget) not in ``done``; append each line to ``out``; how many."""
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    shared: KwokCluster | None = None
    if not fresh:
        started = time.monotonic()
        shared = KwokCluster.create(ensure_kube_bins(), disable=("kube-scheduler",))
        shared.install_crds()
        print(f"control plane up in {time.monotonic() - started:.1f}s", flush=True)
    try:
        with out.open("a") as sink:
            for index, spec in enumerate(specs):
                todo = [b for b in budgets if (spec.name, b) not in done]
                if not todo:
                    continue
                timings = {"control_plane_seconds": 0.0}
                started = time.monotonic()
                with _control_plane(shared, timings) as kwok:
                    rows = _one(kwok, spec, index, todo, out, guard_every)
                for row in rows:
                    row["instance_seconds"] = round(time.monotonic() - started, 1)
                    row["control_plane_seconds"] = round(timings["control_plane_seconds"], 1)
                    row["shared_control_plane"] = not fresh
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
                    written += 1
                    print(_summary(row), flush=True)
    finally:
        if shared is not None:
            shared.delete()
    return written


def _summary(row: dict[str, Any]) -> str:
    return (
        f"{row['instance']} @ {row['budget']:g}s: kube {row['kube_running']} "
        f"({row['kube_pending']} pending) -> {row['after_vector']} [{row['outcome']}"
        f"{', optimal' if row['optimal'] else ''}] moves {row['moves']} evictions "
        f"{row['evictions']} lost {row['lost']} off-plan {row['off_plan']} "
        f"pdb {row['pdb_violations']}/{row['guarded']} overcommitted "
        f"{len(row['overcommitted_after'])} ({row['instance_seconds']}s)"
    )
