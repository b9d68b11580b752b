"""One ant's walk: its shortcut score is the model's, and it leaves the shared state as found."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from scheduler_ext.model.assignment import current_assignment, evaluate, node_load, violations
from scheduler_ext.model.problem import Problem
from scheduler_ext.solvers.aco.ant import base_of, walk
from scheduler_ext.solvers.aco.colony import ColonyChooser, ColonySettings, Pheromone
from scheduler_ext.solvers.aco.groups import node_groups
from scheduler_ext.solvers.aco.heuristic import fit
from scheduler_ext.solvers.greedy import _State
from tests.unit.tiny import ClassSpec, tiny_problem


def random_problem(seed: int) -> Problem:
    """A few nodes packed with running pods of three priorities, and bigger pending pods."""
    rng = random.Random(seed)
    nodes = [{"cpu": rng.choice([4000, 8000]), "pods": 10} for _ in range(rng.randint(2, 6))]
    classes = []
    free = [n["cpu"] for n in nodes]
    for priority in (10, 20, 30):
        for _ in range(2):
            cpu = rng.choice([500, 1000, 2000])
            running: dict[int, int] = {}
            for i in range(len(nodes)):
                k = rng.randint(0, 2)
                k = min(k, free[i] // cpu)
                if k:
                    running[i] = k
                    free[i] -= k * cpu
            classes.append(
                ClassSpec(
                    priority=priority,
                    demand={"cpu": cpu},
                    pending=rng.randint(0, 2),
                    running=running,
                )
            )
    return tiny_problem(nodes, classes, max_disruptions=rng.choice([None, 1, 3]))


@pytest.mark.parametrize("seed", range(12))
def test_the_walks_score_is_the_models_and_the_state_is_restored(seed: int) -> None:
    problem = random_problem(seed)
    state = _State(problem)
    before = [dict(c) for c in state.counts]
    free = state.free.copy()
    current = current_assignment(problem)
    base = base_of(problem)
    settings = ColonySettings()
    rng = np.random.default_rng(seed)
    chooser = ColonyChooser(Pheromone(node_groups(problem), settings), fit, settings, rng)
    for _ in range(5):
        trail = walk(
            state,
            base,
            chooser,
            rng,
            deadline=time.monotonic() + 30,
            order_noise=0.5,
            lift_limit=20,
        )
        assert trail.key == evaluate(problem, trail.assignment).key
        assert violations(problem, trail.assignment) == []
    assert [{n: k for n, k in c.items() if k} for c in state.counts] == before
    np.testing.assert_array_equal(state.free, free)
    np.testing.assert_array_equal(
        state.free, problem.landing_capacity_matrix - node_load(problem, current.counts())
    )
