"""Benchmark: the fallback solvers (issue 16) against greedy, CP-SAT and ``auto`` at equal budgets.

Every solver gets the same problem (``benchmarks.workloads_fragmented`` clusters, built once per
instance, not timed) and the same budget, counted from its start: greedy; ``rl`` (the policy's
one pass) and ``aco`` / ``aco+rl`` (the colony, with the fit heuristic or the policy), each of
which runs greedy first inside its budget; and ``cpsat`` (the whole model, above its size limit
neighbourhoods) and ``auto``, started from greedy's better plan as the planner starts them, greedy
again inside the budget. In process, one worker, one at a time. Every assignment must pass
``violations`` (the planner's self-check) or the run fails.

Reported per instance and solver: pods gained over the current placement per priority tier
(highest first), whether its key is the best of the row (``best``), pods disturbed and evicted,
and wall time. Fresh seeds: ``--seed``.

    python -m benchmarks.fallback [--sizes 100,1000,5000] [--budgets 1,10] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial

from benchmarks.workloads_fragmented import fragmented_cluster
from scheduler_ext.model.assignment import Assignment, current_assignment, evaluate, violations
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.solvers.aco.colony import solve_aco
from scheduler_ext.solvers.auto import MAX_WHOLE_VARIABLES, model_size, solve_auto
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.cpsat.solver import solve_cpsat
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.neighbourhood import solve_neighbourhoods
from scheduler_ext.solvers.policy.construct import solve_aco_rl, solve_rl

Run = Callable[[Problem, float], SolveResult]


def _greedy(problem: Problem, deadline: float) -> SolveResult:
    results = [solve_greedy(problem, strategy=s, deadline=deadline) for s in ("spread", "pack")]
    return max(results, key=lambda r: evaluate(problem, r.assignment).key)


def _after_greedy(
    search: Callable[..., SolveResult], problem: Problem, deadline: float
) -> SolveResult:
    start = _greedy(problem, deadline)
    found = search(problem, start.assignment, deadline=deadline, workers=1)
    better = evaluate(problem, found.assignment).key >= evaluate(problem, start.assignment).key
    return found if better else start


def _cpsat(
    problem: Problem, incumbent: Assignment, *, deadline: float, workers: int
) -> SolveResult:
    if model_size(problem) > MAX_WHOLE_VARIABLES:
        return solve_neighbourhoods(problem, incumbent, deadline=deadline, workers=workers)
    return solve_cpsat(problem, incumbent, deadline=deadline, workers=workers)


def _own(solve: Callable[..., SolveResult], problem: Problem, deadline: float) -> SolveResult:
    return solve(problem, current_assignment(problem), deadline=deadline)


SOLVERS: dict[str, Run] = {
    "greedy": _greedy,
    "rl": partial(_own, solve_rl),
    "aco": partial(_own, solve_aco),
    "aco+rl": partial(_own, solve_aco_rl),
    "cpsat": partial(_after_greedy, _cpsat),
    "auto": partial(_after_greedy, solve_auto),
}


def _row(problem: Problem, name: str, run: Run, budget: float) -> tuple[str, tuple[int, ...], str]:
    started = time.monotonic()
    result = run(problem, started + budget)
    wall = time.monotonic() - started
    broken = violations(problem, result.assignment)
    if broken:
        raise SystemExit(f"{name}: invalid assignment: {broken[:3]}")
    score = evaluate(problem, result.assignment)
    before = evaluate(problem, current_assignment(problem)).placed
    gained = ",".join(str(a - b) for a, b in zip(score.placed, before, strict=True))
    text = (
        f"{name:7} gained [{gained}] disturbed {score.disturbed:4} "
        f"evicted {score.evictions:3} wall {wall:5.1f}s ({result.solver})"
    )
    return name, score.key, text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fallback", description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--budgets", default="1,10")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    args = parser.parse_args(argv)
    for size in [int(s) for s in args.sizes.split(",")]:
        cluster = fragmented_cluster(size, seed=args.seed, pending=max(4, size // 20))
        problem = build_problem(cluster)
        pending = sum(c.pending_count for c in problem.classes)
        print(f"## {size} nodes, {len(cluster.pods)} pods, {pending} pending")
        print(f"   tiers (highest first): {problem.priorities}")
        for budget in [float(b) for b in args.budgets.split(",")]:
            rows = [_row(problem, n, SOLVERS[n], budget) for n in args.solvers.split(",")]
            best = max(key for _, key, _ in rows)
            for _, key, text in rows:
                print(f"  {budget:4.0f}s {text}{'  best' if key == best else ''}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
