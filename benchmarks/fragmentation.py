"""Does the prioritize rule leave fewer pods Pending than kube-scheduler alone? (the paper's grid)

Every instance of the paper's workload (``benchmarks.workloads_paper.paper_workload``: nodes x
pods per node x priorities x utilisation, several seeds) is scheduled twice by the kube-scheduler
stand-in of ``benchmarks.kube_baseline`` (default scoring, DefaultPreemption, retries): once as
is, and once with the extender's prioritize score added the way kube-scheduler adds it
(``score x weight x 10``, ``scheduler_ext.extender.scoring.best_fit_score`` on the same room the
service's store keeps). Reported: pods left Pending in all, and per instance whether the final
placement is lexicographically better, equal or worse by priority (highest first).

    python -m benchmarks.fragmentation [--seeds 5] [--weights 1,2]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks import kube_baseline
from benchmarks.workloads_paper import PaperSpec, paper_workload
from scheduler_ext.domain import PODS, Cluster, Pod
from scheduler_ext.extender import scoring


class _WithExtender(kube_baseline._Scheduler):
    """kube-scheduler's choice with the extender's prioritize score added (weight x 10 x score)."""

    weight = 1

    def schedule(self, pod: Pod) -> bool:
        demand = pod.demand()
        best: tuple[int, str] | None = None
        chosen = None
        for state in self.allowed(pod):
            if not state.fits(pod):
                continue
            free = {name: state.alloc.get(name, 0) - state.used.get(name, 0) for name in demand}
            free[PODS] = state.alloc.get(PODS, 0) - len(state.pods)
            extra = scoring.best_fit_score(demand, (state.alloc, free)) * self.weight * 10
            rank = (-(state.score(pod) + extra), state.name)
            if best is None or rank < best:
                best, chosen = rank, state
        if chosen is not None:
            self.bind(pod, chosen)
            return True
        return self.preemption and self.preempt(pod)


def schedule(cluster: Cluster, weight: int) -> kube_baseline.BaselineResult:
    """The baseline with (weight > 0) or without (0) the extender's prioritize."""
    if weight == 0:
        return kube_baseline.kube_schedule(cluster)
    _WithExtender.weight = weight
    original = kube_baseline._Scheduler
    kube_baseline._Scheduler = _WithExtender  # type: ignore[misc]
    try:
        return kube_baseline.kube_schedule(cluster)
    finally:
        kube_baseline._Scheduler = original  # type: ignore[misc]


def compare(seeds: int, weights: Sequence[int]) -> dict[int, dict[str, Any]]:
    totals: dict[int, dict[str, Any]] = {
        w: {"pending": 0, "better": 0, "equal": 0, "worse": 0, "instances": 0}
        for w in (0, *weights)
    }
    grid = itertools.product([4, 8, 16, 32], [4, 8], [1, 2, 4], [0.9, 0.95, 1.0, 1.05])
    for (nodes, ppn, k, util), seed in itertools.product(grid, range(seeds)):
        spec = PaperSpec(nodes=nodes, pods_per_node=ppn, priorities=k, util=util, seed=seed)
        cluster = paper_workload(spec)
        base_key: tuple[int, ...] = ()
        for weight in (0, *weights):
            result = schedule(cluster, weight)
            placed = result.placed_by_priority()
            key = tuple(placed.get(p, 0) for p in range(k, 0, -1))
            base_key = key if weight == 0 else base_key
            row = totals[weight]
            row["pending"] += len(result.pending())
            row["instances"] += 1
            verdict = "better" if key > base_key else "equal" if key == base_key else "worse"
            row[verdict] += 1
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fragmentation", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--weights", default="1,2")
    args = parser.parse_args(argv)
    weights = [int(w) for w in args.weights.split(",")]
    totals = compare(args.seeds, weights)
    print("| prioritize | instances | pods left Pending | better | equal | worse |")
    print("|---|---|---|---|---|---|")
    for weight, row in totals.items():
        label = "kube-scheduler alone" if weight == 0 else f"+ extender, weight {weight}"
        print(
            f"| {label} | {row['instances']} | {row['pending']} | {row['better']} |"
            f" {row['equal']} | {row['worse']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
