"""Retrain the placement policy for the prioritize verb: its score added to kube-scheduler's.

``train_policy`` trains the network to *place* (it picks the node); as prioritize's rule its
output only shifts kube-scheduler's own scores (``benchmarks.fragmentation``), and the shipped
weights, which prefer the tightest node steeply, then act as pure best fit, which fragments more
than kube-scheduler alone. The outcome that counts there (pods left Pending after
kube-scheduler's arrivals, preemptions and retries) is not differentiable in the weights, so this
is evolution strategies (OpenAI-ES: antithetic Gaussian perturbations of all weights, centred
ranks, a score-function estimate of the reward's gradient in weight space), on batches of the
paper's instances with seeds from ``TRAIN_SEEDS`` on (never the seeds the benchmark quotes,
0-4 and 100-104). ``--rule policy`` (the verb's rule, 10 x sigmoid(score)) starts from the network
fitted to best fit's scores (``distilled``), ``--rule placement`` (relative to the best candidate)
from the shipped placement weights. Reward per instance: minus the pods left
Pending, each counted 2^(priority - 1) (higher priorities first), per pod of the instance.
Everything is seeded: the same ``--seed`` gives the same weights.

    python -m benchmarks.train_prioritize --seed 1 [--rule policy|placement] [--iterations 30]
        [--start FILE.npz] --output FILE.npz
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import fragmentation
from benchmarks.workloads_paper import PaperSpec, paper_workload
from scheduler_ext.domain import CPU, MEMORY, PODS, Cluster
from scheduler_ext.solvers.policy.network import PolicyNet, shipped
from scheduler_ext.solvers.policy.rule import room_features
from scheduler_ext.solvers.policy.training import _Adam

TRAIN_SEEDS = 1000
"""Instance seeds of iteration i are TRAIN_SEEDS + i (the benchmark quotes 0-4 and 100-104)."""


def _flat(net: PolicyNet) -> np.ndarray:
    return np.concatenate([p.ravel() for p in net.parameters])


def _net(theta: np.ndarray, like: PolicyNet) -> PolicyNet:
    parts, at = [], 0
    for p in like.parameters:
        parts.append(theta[at : at + p.size].reshape(p.shape))
        at += p.size
    return PolicyNet(*parts)


def batch(seed: int, size: int) -> list[Cluster]:
    """``size`` instances of the paper's grid, drawn (and seeded) from ``seed``."""
    rng = random.Random(f"train-prioritize:{seed}")
    grid = list(itertools.product(*fragmentation.GRID))
    out = []
    for nodes, ppn, k, util in rng.sample(grid, size):
        spec = PaperSpec(nodes=nodes, pods_per_node=ppn, priorities=k, util=util, seed=seed)
        out.append(paper_workload(spec))
    return out


def reward(net: PolicyNet | None, clusters: Sequence[Cluster], rule: str, weight: int = 1) -> float:
    total = 0.0
    for cluster in clusters:
        result = fragmentation.schedule(cluster, weight, rule, net)
        lost = sum(2.0 ** (p.priority - 1) for p in result.pending())
        total -= lost / max(1, len(cluster.pods))
    return total / len(clusters)


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(np.argsort(values))
    return order / (len(values) - 1) - 0.5


def distilled(seed: int, samples: int = 4096, steps: int = 3000) -> PolicyNet:
    """A network whose ``10 x sigmoid(score)`` is best fit's score (``extender.scoring``: 10 x
    (1 - the roomiest resource's share left)), fitted by least squares on random rooms: the
    start for the ``policy`` rule (best fit is what the rule must beat)."""
    rng = np.random.default_rng(seed)
    capacity = {CPU: np.full(samples, 4000), MEMORY: np.full(samples, 4096)}
    capacity[PODS] = np.full(samples, 110)
    cpu_ask = rng.integers(100, 2000, samples)
    memory_ask = rng.integers(100, 2000, samples)
    free = {
        CPU: cpu_ask + rng.integers(0, 4001, samples).clip(0, 4000 - cpu_ask),
        MEMORY: memory_ask + rng.integers(0, 4097, samples).clip(0, 4096 - memory_ask),
        PODS: rng.integers(1, 111, samples),
    }
    rows = []
    for i, (cpu, memory) in enumerate(zip(cpu_ask.tolist(), memory_ask.tolist(), strict=True)):
        room = {k: v[i : i + 1] for k, v in free.items()}
        alloc = {k: v[i : i + 1] for k, v in capacity.items()}
        rows.append(room_features({CPU: cpu, MEMORY: memory}, room, alloc, 1))
    x = np.concatenate(rows)
    left = np.maximum(x[:, 0], x[:, 1])
    target = np.log(np.clip(1.0 - left, 0.02, 0.98) / np.clip(left, 0.02, 0.98))
    net = PolicyNet.random(seed)
    adam = _Adam(net, 0.01)
    for _ in range(steps):
        error = net.scores(x) - target
        net = net.stepped(adam.step(net.gradient(x, -error / samples)))
    return net


def train(
    start: PolicyNet,
    rule: str,
    seed: int,
    iterations: int,
    pairs: int,
    size: int,
    sigma: float,
    rate: float,
    checkpoint: Path | None = None,
) -> tuple[PolicyNet, list[float]]:
    """The weights after ``iterations`` steps and the mean reward of each step's population;
    written to ``checkpoint`` after every step."""
    theta = _flat(start)
    rng = np.random.default_rng(seed)
    history = []
    for i in range(iterations):
        clusters = batch(TRAIN_SEEDS + seed * 100_000 + i, size)
        noise = rng.normal(0.0, 1.0, (pairs, theta.size))
        values = []
        for eps in noise:
            values.append(reward(_net(theta + sigma * eps, start), clusters, rule))
            values.append(reward(_net(theta - sigma * eps, start), clusters, rule))
        scores = np.array(values)
        history.append(float(scores.mean()))
        ranked = _ranks(scores).reshape(pairs, 2)
        step = ((ranked[:, 0] - ranked[:, 1])[:, None] * noise).sum(axis=0)
        theta = theta + rate / (2 * pairs * sigma) * step
        print(f"iteration {i}: mean reward {history[-1]:.5f}", flush=True)
        if checkpoint is not None:
            _net(theta, start).save(checkpoint)
    return _net(theta, start), history


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_prioritize", description=__doc__
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sigma", type=float, default=0.1)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--rule", choices=("policy", "placement"), default="policy")
    parser.add_argument("--start", type=Path, default=None, help="weights to start from")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.monotonic()
    held_out = batch(TRAIN_SEEDS - 1, 24)  # seed 999: in no training batch
    if args.start is not None:
        start = PolicyNet.load(args.start)
    else:
        start = shipped() if args.rule == "placement" else distilled(args.seed)
    before = reward(start, held_out, args.rule)
    net, _ = train(
        start,
        args.rule,
        args.seed,
        args.iterations,
        args.pairs,
        args.batch,
        args.sigma,
        args.rate,
        checkpoint=args.output,
    )
    after = reward(net, held_out, args.rule)
    fit = reward(None, held_out, "best-fit")
    print(f"held-out reward (24 instances, seed {TRAIN_SEEDS - 1}): {before:.5f} -> {after:.5f}")
    print(f"best fit's on the same: {fit:.5f}")
    net.save(args.output)
    print(f"wrote {args.output} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
