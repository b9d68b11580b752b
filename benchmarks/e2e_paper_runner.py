"""The loop of ``benchmarks.e2e_paper run``: one control plane, each instance placed by the real
kube-scheduler, then planned at each budget and checked; one JSON line per (instance, budget)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.e2e_paper_kube import (
    Placement,
    apply_and_settle,
    create_nodes,
    delete_instance,
    ensure_priority_classes,
)
from benchmarks.workloads_kubectl import to_kubectl_list
from benchmarks.workloads_paper import PaperSpec
from scheduler_ext.cluster.client import read_cluster
from scheduler_ext.domain import Cluster
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict
from scheduler_ext.solvers.isolation import SolverWorker
from testkit import builders
from testkit.bins import ensure_kube_bins
from testkit.checker import check_plan
from testkit.cluster import KwokCluster
from testkit.kube import Kube


def stock_scheduler_config() -> dict[str, Any]:
    """kube-scheduler's defaults (DefaultPreemption on, backoffs 1 s / 10 s, adaptive
    percentageOfNodesToScore), without leader election (one scheduler)."""
    return builders.scheduler_config(
        percentage_of_nodes_to_score=None,
        pod_initial_backoff_seconds=1,
        pod_max_backoff_seconds=10,
    )


def _instance(cluster: Cluster, namespace: str, nodes: Iterable[str]) -> Cluster:
    """The live cluster narrowed to this instance: its nodes, its pods (earlier instances'
    namespaces may still be terminating)."""
    names = set(nodes)
    return Cluster(
        nodes=tuple(n for n in cluster.nodes if n.name in names),
        pods=tuple(p for p in cluster.pods if p.namespace == namespace and not p.terminating),
        priority_classes=cluster.priority_classes,
        namespaces=tuple(ns for ns in cluster.namespaces if ns.name == namespace),
    )


WARM_UP_SECONDS = 3.0
"""A solver worker started this long before its job has imported the solvers, as the service's
workers have (they fork from a server that imported them once): a cold one spends about half of a
1 s budget importing."""


def plan_row(cluster: Cluster, worker: SolverWorker, budget: float) -> dict[str, Any]:
    """Plan on the state kube-scheduler left as the service does (a warm ``worker``, the budget
    counted once the state is in memory) and check the plan; the result line without the
    kube-scheduler part."""
    try:
        started = time.monotonic()
        plan = make_plan(
            cluster, PlanOptions(time_limit_seconds=budget), started=started, worker=worker
        )
        wall = time.monotonic() - started
    finally:
        worker.close()
    document = plan_to_dict(plan)
    result = check_plan(cluster, document)
    return {
        "optimal": plan.status.optimal,
        "solver": plan.status.solver,
        "plan_wall": round(wall, 3),
        "checked_before": list(result.before),
        "after_vector": list(result.after),
        "priorities": list(result.priorities),
        "moves": len(plan.moves),
        "evictions": len(plan.evictions),
        "bindings": len(plan.bindings),
    }


def _row(spec: PaperSpec, placed: Placement, budget: float, planned: dict[str, Any]) -> str:
    vector = [placed.running.get(p, 0) for p in planned["priorities"]]
    return json.dumps(
        {
            "instance": spec.name,
            "nodes": spec.nodes,
            "ppn": spec.pods_per_node,
            "k": spec.priorities,
            "util": spec.util,
            "seed": spec.seed,
            "budget": budget,
            "kube_running": vector,
            "kube_pending": placed.pending,
            "kube_settle_seconds": round(placed.seconds, 1),
            "after": "planned",
            **planned,
        }
    )


def run_grid(
    specs: Sequence[PaperSpec], budgets: Sequence[float], out: Path, done: set[tuple[str, float]]
) -> int:
    written = 0
    with (
        KwokCluster.create(ensure_kube_bins(), scheduler_config=stock_scheduler_config()) as kwok,
        Kube(kwok.api_client()) as kube,
        out.open("a") as sink,
    ):
        ensure_priority_classes(kube)
        for index, spec in enumerate(specs):
            todo = [b for b in budgets if (spec.name, b) not in done]
            if not todo:
                continue
            namespace = f"paper-{index}"
            nodes = create_nodes(kube, spec, index)
            worker = SolverWorker()  # warms up while kube-scheduler settles
            try:
                placed = apply_and_settle(kube, spec, namespace)
                state = _instance(read_cluster(str(kwok.kubeconfig)), namespace, nodes)
                snapshots = out.parent / "snapshots"
                snapshots.mkdir(exist_ok=True)  # to plan the same state again offline
                (snapshots / f"{spec.name}.json").write_text(json.dumps(to_kubectl_list(state)))
                for i, budget in enumerate(todo):
                    if i:
                        worker = SolverWorker()
                        time.sleep(WARM_UP_SECONDS)
                    planned = plan_row(state, worker, budget)
                    sink.write(_row(spec, placed, budget, planned) + "\n")
                    sink.flush()
                    written += 1
                print(f"{spec.name}: kube-scheduler left {placed.pending} pending", flush=True)
            finally:
                worker.close()
                delete_instance(kube, namespace, nodes)
    return written
