"""Training clusters for ``scheduler-ext train-policy``: running nodes with holes, and pending pods
cut to fill the holes exactly, so that where each pod lands decides whether the big ones fit.

The product cannot use the benchmarks' generator (``benchmarks.workloads_fragmented``, which
``python -m benchmarks.train_policy`` trains the shipped weights on), so this is a small one of
its own: nodes of three CPU sizes, each up to half full with a running pod of a priority above
the pending ones (training walks never lift, so only the choice of node counts), and per node one
big pending pod and a few small ones the size of its free CPU. Seeded from every argument.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from scheduler_ext.domain import CPU, MEMORY, PODS, Cluster, Node, OwnerRef, Pod, ResourceList
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.solvers.policy.network import PolicyNet
from scheduler_ext.solvers.policy.training import TrainingSettings, score, train

MI = 1024 * 1024
RUNNING_PRIORITY = 1000
PENDING_PRIORITY = 100
_CPUS = (4000, 6000, 8000)
MEMORY_PER_NODE = 64 * 1024 * MI
POD_MEMORY = 64 * MI
"""Memory never binds: CPU alone decides which pods fit, as in the tests' ``holes`` problems."""


def _pod(name: str, cpu: int, memory: int, priority: int, node: str | None) -> Pod:
    owner = name.rsplit("-", 1)[0]
    return Pod(
        namespace="default",
        name=name,
        uid=f"uid-{name}",
        priority=priority,
        requests=ResourceList.of({CPU: cpu, MEMORY: memory}),
        node_name=node,
        phase="Running" if node else "Pending",
        owner=OwnerRef("ReplicaSet", owner, f"uid-rs-{owner}"),
    )


def hole_cluster(seed: int, nodes: int) -> Cluster:
    rng = random.Random(f"train-policy:{seed}:{nodes}")
    node_list: list[Node] = []
    pods: list[Pod] = []
    for i in range(nodes):
        cpu = rng.choice(_CPUS)
        name = f"node-{i:04d}"
        room = ResourceList.of({CPU: cpu, MEMORY: MEMORY_PER_NODE, PODS: 20})
        node_list.append(Node(name=name, allocatable=room))
        used = rng.randrange(0, cpu // 2, 250)
        if used:
            pods.append(_pod(f"run-{i}-0", used, POD_MEMORY, RUNNING_PRIORITY, name))
        # The hole is split into a big pod and a few small ones of the same total.
        small = rng.randint(0, 3)
        piece = rng.choice((250, 500))
        sizes = [cpu - used - small * piece] + [piece] * small
        for j, size in enumerate(sizes):
            pods.append(_pod(f"hole-{i}-{j}", size, POD_MEMORY, PENDING_PRIORITY, None))
    return Cluster(nodes=tuple(node_list), pods=tuple(pods))


def training_problems(seed: int, count: int, nodes: int) -> list[Problem]:
    """``count`` problems of ``nodes`` nodes each, from ``seed``."""
    return [build_problem(hole_cluster(seed * 1000 + i, nodes)) for i in range(count)]


HELD_OUT_SEED = 10_000
"""Held-out clusters come from ``seed + HELD_OUT_SEED``: never the training ones."""


@dataclass(frozen=True)
class Trained:
    net: PolicyNet
    before: float
    """Held-out one-pass score of the random initial weights."""
    after: float


def train_generated(
    seed: int, steps: int, count: int, nodes: int, settings: TrainingSettings | None = None
) -> Trained:
    """Random weights from ``seed``, trained on ``count`` clusters; everything seeded."""
    settings = settings or TrainingSettings(steps=steps)
    training = training_problems(seed, count, nodes)
    held_out = training_problems(seed + HELD_OUT_SEED, max(3, count // 3), nodes)
    initial = PolicyNet.random(seed)
    net, _ = train(initial, training, settings, seed)
    return Trained(net, score(initial, held_out, settings), score(net, held_out, settings))
