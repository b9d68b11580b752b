"""Problems where the node chosen for each pod decides how many land: pending pods cut to fit
the free holes exactly, so best fit places them all and a careless rule strands the big ones."""

from __future__ import annotations

import random

from scheduler_ext.model.problem import Problem
from tests.unit.tiny import ClassSpec, tiny_problem

PRIORITY = 10


def holes(seed: int, nodes: int = 8) -> Problem:
    rng = random.Random(seed)
    capacities = [rng.choice([4000, 6000, 8000]) for _ in range(nodes)]
    running = [rng.randrange(0, c // 2, 250) for c in capacities]
    sizes = [c - r for c, r in zip(capacities, running, strict=True)]
    classes = [
        # The running pods are of a higher priority: nothing lifts them, only placement counts.
        ClassSpec(priority=PRIORITY + 1, demand={"cpu": r}, running={i: 1})
        for i, r in enumerate(running)
        if r
    ]
    for size in sizes:
        # A hole is split into a big pod and a few small ones of the same total.
        small = rng.randint(0, 3)
        piece = rng.choice([250, 500])
        big = size - small * piece
        classes.append(ClassSpec(priority=PRIORITY, demand={"cpu": big}, pending=1))
        if small:
            classes.append(ClassSpec(priority=PRIORITY, demand={"cpu": piece}, pending=small))
    return tiny_problem([{"cpu": c, "pods": 20} for c in capacities], classes)
