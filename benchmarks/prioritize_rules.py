"""What each prioritize rule costs the verb in process: the store's columns plus the rule's scores.

The verb's own work after the body is parsed (``extender/verbs.py``: ``node_columns`` then
``scoring.rule_hosts``) on the latency benchmark's synthetic store (``benchmarks.verbs_latency``:
16 CPU, 64Gi nodes with 10 running pods each) for the recorded pod (1500m, 128Mi) and a pod that
fills the nodes (6 CPU, 48Gi), every node asked; the rules alternate call by call, so load falls
on both alike. Median and p99 per rule.

    python -m benchmarks.prioritize_rules [--nodes 100,1000,5000] [--calls 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

from benchmarks.verbs_latency import synthetic_objects
from scheduler_ext.cluster.kinds import KINDS
from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender import scoring

PODS = {
    "recorded": {"cpu": 1500, "memory": 128 << 20, "pods": 1},
    "filling": {"cpu": 6000, "memory": 48 << 30, "pods": 1},
}
"""The recorded pod, which best fit scores on every node and the policy on none; and a pod that
leaves the nodes it fits nearly full, which both rules score on every node it fits."""
RULES: tuple[scoring.Rule, ...] = (scoring.BEST_FIT, scoring.POLICY)


def _call(
    store: ClusterStore, rule: scoring.Rule, demand: dict[str, int], names: list[str]
) -> tuple[float, int]:
    started = time.perf_counter()
    columns = store.node_columns(scoring.rule_resources(rule, demand))
    hosts = scoring.rule_hosts(rule, demand, names, columns)
    elapsed = time.perf_counter() - started
    assert hosts is not None
    return elapsed, len(hosts[0])


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(nodes: int, calls: int, pod: str) -> list[dict[str, object]]:
    store = ClusterStore()
    objects = synthetic_objects(nodes)
    for kind in KINDS:
        store.replace(kind, objects.get(kind, []))
    names = [f"node-{i:05d}" for i in range(nodes)]
    times: dict[str, list[float]] = {rule: [] for rule in RULES}
    scored: dict[str, int] = {}
    for i in range(calls + 20):
        for rule in RULES if i % 2 else RULES[::-1]:
            elapsed, count = _call(store, rule, PODS[pod], names)
            if i >= 20:  # the first calls warm up (the policy's weights load on first use)
                times[rule].append(elapsed)
            scored[rule] = count
    return [
        {
            "nodes": nodes,
            "pod": pod,
            "rule": rule,
            "scored": scored[rule],
            "p50_ms": round(statistics.median(times[rule]) * 1000, 3),
            "p99_ms": round(_percentile(times[rule], 0.99) * 1000, 3),
        }
        for rule in RULES
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.prioritize_rules", description=__doc__
    )
    parser.add_argument("--nodes", default="100,1000,5000")
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args(argv)
    try:
        sizes = [int(n) for n in args.nodes.split(",")]
    except ValueError:
        print("prioritize_rules: --nodes takes comma-separated integers", file=sys.stderr)
        return 2
    print("| nodes | pod | rule | nodes scored | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for nodes in sizes:
        for pod in PODS:
            for row in measure(nodes, args.calls, pod):
                print(
                    f"| {row['nodes']} | {pod} | {row['rule']} | {row['scored']} |"
                    f" {row['p50_ms']} | {row['p99_ms']} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
