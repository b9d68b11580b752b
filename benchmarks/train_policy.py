"""Train the placement policy (``scheduler_ext/solvers/policy``) on generated fragmented clusters.

Training problems are ``benchmarks.workloads_fragmented`` clusters of a few dozen nodes with many
Pending pods (so that each walk makes many node choices); held-out problems use other seeds.
The run is reproducible: the same ``--seed`` gives the same weights. It prints the policy's
one-pass score on the held-out problems before and after, and writes the weights where the
package loads them from (``--output`` to write elsewhere).

    python -m benchmarks.train_policy --seed 1 [--steps 100] [--output PATH]

The shipped weights are `--seed 1` with the defaults: held-out one-pass score 0.98805 (random
weights) -> 0.99685, mean episode reward 0.967 -> 0.995 (first and last 20 steps), 150 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.units import MI
from benchmarks.workloads_fragmented import fragmented_cluster
from scheduler_ext.domain import CPU, MEMORY, Cluster, Pod
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.solvers.policy import network
from scheduler_ext.solvers.policy.network import PolicyNet
from scheduler_ext.solvers.policy.training import TrainingSettings, score, train
from testkit.factories import pod as pod_of

SHIPPED = Path(network.__file__).with_name(network.WEIGHTS_FILE)
HOLE_PRIORITY = 0
"""Below every workload pod of the generator: the hole pods can only fill room, never lift."""
SIZES = (30, 40, 50)
"""Node counts of the training clusters (below 30 the generator may find no big deployment)."""


def _hole_pods(cluster: Cluster, rng: random.Random) -> list[Pod]:
    """Pending pods cut to fit the free holes of the open nodes exactly: one big pod and a few
    small ones per hole, so that where each lands decides whether the big ones still fit."""
    used: dict[str, list[int]] = {}
    for bound in cluster.pods:
        if bound.node_name is not None:
            room = used.setdefault(bound.node_name, [0, 0])
            room[0] += bound.requests.get(CPU)
            room[1] += bound.requests.get(MEMORY)
    pods = []
    open_nodes = [n for n in cluster.nodes if n.ready and not n.unschedulable and not n.taints]
    for node in open_nodes:
        cpu_used, memory_used = used.get(node.name, [0, 0])
        cpu = (node.allocatable.get(CPU) - cpu_used) // 100 * 100
        memory = (node.allocatable.get(MEMORY) - memory_used) // 4
        small = rng.randint(0, 3)
        piece = 100 * rng.randint(1, 3)
        if cpu - small * piece < 200 or memory < 64 * MI:
            continue
        sizes = [cpu - small * piece] + [piece] * small
        for j, size in enumerate(sizes):
            name = f"hole-{node.name}-{j}"
            pods.append(pod_of(name, size, memory // len(sizes), priority=HOLE_PRIORITY))
    return pods


def problems(seed: int, count: int) -> list[Problem]:
    """``count`` fragmented clusters whose only Pending pods are cut to their holes (the
    generator's own need lifts, which training walks do not make)."""
    found = []
    for i in range(count):
        rng = random.Random(f"train-policy:{seed}:{i}")
        cluster = fragmented_cluster(SIZES[i % len(SIZES)], seed=seed * 1000 + i, pending=0)
        cluster = dataclasses.replace(cluster, pods=(*cluster.pods, *_hole_pods(cluster, rng)))
        found.append(build_problem(cluster))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_policy", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=TrainingSettings.steps)
    parser.add_argument("--problems", type=int, default=12)
    parser.add_argument("--output", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    started = time.monotonic()
    training = problems(args.seed, args.problems)
    held_out = problems(args.seed + 10_000, max(3, args.problems // 3))
    initial = PolicyNet.random(args.seed)
    settings = TrainingSettings(steps=args.steps)
    trained, history = train(initial, training, settings, args.seed)
    before, after = score(initial, held_out, settings), score(trained, held_out, settings)
    print(f"held-out one-pass score: random {before:.5f} -> trained {after:.5f}")
    first, last = sum(history[:20]) / 20, sum(history[-20:]) / 20
    print(f"mean episode reward, first/last 20 steps: {first:.5f} / {last:.5f}")
    trained.save(args.output)
    print(f"wrote {args.output} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
