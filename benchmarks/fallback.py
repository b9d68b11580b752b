"""The fallback solvers side by side: greedy, the policy's one pass, the colony, CP-SAT, ``auto``.

Each solver gets the same budget, counted from its start, on the same problem: fragmented
running clusters (``benchmarks.workloads_fragmented``, ``pending = nodes / 20``) and the paper's
grid (``benchmarks.planner_instances``, quick: K = 4, util 0.95 and 1.05, one seed, after the
kube-scheduler stand-in). ``rl``, ``aco`` and ``aco+rl`` run greedy inside their budget;
``cpsat`` (the whole model, neighbourhoods above its size limit) starts from greedy's plan, greedy
inside the budget too; ``auto`` is the planner's (``planning.planner.search_within``: greedy, then
the portfolio of ``planning/portfolio.py`` in child processes, its worker started before the
clock as the planner's callers do), the fallback alongside CP-SAT; ``auto-turns`` runs them in
turns, CP-SAT hinted with the fallback's plan, ``auto-turns-nohint`` in turns from greedy's.
Each row runs in a forked child, one at a time, so that its peak
memory is its own: the larger of the child's and its own children's ``ru_maxrss`` (the child
starts with the parent's pages, ``base``). Every assignment must pass ``violations``.

Reported per instance and solver: pods gained over the current placement per tier (highest
first), pods short of the best key found by any row of the instance (``short``, per tier),
disturbed pods, disturbed per pod gained, wall time, CPU time (the row's and its children's:
``auto``'s includes its worker's imports), peak memory. ``--json`` writes the rows for
``benchmarks.fallback_plots``.

    python -m benchmarks.fallback [--sizes 100,1000,5000] [--paper] [--budgets 1,10] [--json F]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.planner_instances import PAPER, instances_for
from benchmarks.workloads_fragmented import fragmented_cluster
from scheduler_ext.model.assignment import Assignment, current_assignment, evaluate, violations
from scheduler_ext.model.problem import Problem, build_problem
from scheduler_ext.planning import portfolio
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import _Best, search_within
from scheduler_ext.solvers.aco.colony import solve_aco
from scheduler_ext.solvers.auto import MAX_WHOLE_VARIABLES, model_size
from scheduler_ext.solvers.base import SolveResult
from scheduler_ext.solvers.cpsat.solver import solve_cpsat
from scheduler_ext.solvers.greedy import solve_greedy
from scheduler_ext.solvers.isolation import SolverWorker
from scheduler_ext.solvers.neighbourhood import solve_neighbourhoods
from scheduler_ext.solvers.policy.construct import solve_aco_rl, solve_rl

Run = Callable[[Problem, float], tuple[Assignment, str]]
WARM_SECONDS = 2.0
"""Given to ``auto``'s worker to import OR-Tools before the clock starts (loaded machine)."""


def _greedy(problem: Problem, deadline: float) -> tuple[Assignment, str]:
    results = [solve_greedy(problem, strategy=s, deadline=deadline) for s in ("spread", "pack")]
    best = max(results, key=lambda r: evaluate(problem, r.assignment).key)
    return best.assignment, best.solver


def _cpsat(problem: Problem, deadline: float) -> tuple[Assignment, str]:
    start, _ = _greedy(problem, deadline)
    search = solve_cpsat if model_size(problem) <= MAX_WHOLE_VARIABLES else solve_neighbourhoods
    found: SolveResult = search(problem, start, deadline=deadline, workers=1)
    if evaluate(problem, found.assignment).key >= evaluate(problem, start).key:
        return found.assignment, found.solver
    return start, "greedy"


def _own(
    solve: Callable[..., SolveResult], problem: Problem, deadline: float
) -> tuple[Assignment, str]:
    result = solve(problem, current_assignment(problem), deadline=deadline)
    return result.assignment, result.solver


def _auto(
    alongside: bool, hint: bool, problem: Problem, deadline: float, large: float | None = None
) -> tuple[Assignment, str]:
    portfolio.ALONGSIDE, portfolio.HINT_FROM_FALLBACK = alongside, hint  # this row's child only
    portfolio.WHOLE_COLONY = "alongside" if alongside else "before"  # the whole model's too
    if large is not None:
        portfolio.FALLBACK_SHARE_LARGE = large
    best = _Best(problem)
    options = PlanOptions(solver="auto", workers=1)
    with SolverWorker() as worker:
        time.sleep(WARM_SECONDS)
        deadline += WARM_SECONDS
        search_within(problem, best, deadline, options, worker, True)
    return best.assignment, best.solver


SOLVERS: dict[str, Run] = {
    "greedy": _greedy,
    "rl": partial(_own, solve_rl),
    "aco": partial(_own, solve_aco),
    "aco+rl": partial(_own, solve_aco_rl),
    "cpsat": _cpsat,
    "auto": partial(_auto, True, True),
    "auto-turns": partial(_auto, False, True),
    "auto-turns-nohint": partial(_auto, False, False),
    "auto-large0.8": partial(_auto, True, True, large=0.8),
}


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


def _cpu_seconds() -> float:
    """CPU time of this process and its (finished) children: on a loaded machine the wall time
    is mostly waiting for a core, and this says how much work was done."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(problem: Problem, name: str, budget: float, send: Any) -> None:
    base = _rss_kb()
    started = time.monotonic()
    cpu = _cpu_seconds()
    assignment, solver = SOLVERS[name](problem, started + budget)
    wall = time.monotonic() - started - (WARM_SECONDS if name.startswith("auto") else 0.0)
    cpu = _cpu_seconds() - cpu
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    send.send((assignment, solver, wall, cpu, peak / 1024, base / 1024))
    send.close()


def _row(problem: Problem, name: str, budget: float) -> dict[str, Any]:
    context: Any = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(problem, name, budget, send))
    child.start()
    send.close()
    assignment, solver, wall, cpu, peak, base = receive.recv()
    child.join()
    broken = violations(problem, assignment)
    if broken:
        raise SystemExit(f"{name}: invalid assignment: {broken[:3]}")
    score = evaluate(problem, assignment)
    before = evaluate(problem, current_assignment(problem)).placed
    gained = [a - b for a, b in zip(score.placed, before, strict=True)]
    return {
        "solver": name,
        "budget": budget,
        "by": solver,
        "key": list(score.key),
        "gained": gained,
        "disturbed": score.disturbed,
        "evicted": score.evictions,
        "per_gained": round(score.disturbed / sum(gained), 2) if sum(gained) > 0 else None,
        "wall": round(wall, 2),
        "cpu": round(cpu, 2),
        "peak_mb": round(peak),
        "base_mb": round(base),
    }


def _instances(args: argparse.Namespace) -> list[tuple[str, Problem]]:
    found = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        cluster = fragmented_cluster(size, seed=args.seed, pending=max(4, size // 20))
        found.append((f"fragmented-{size}", build_problem(cluster)))
    if args.paper:
        for paper in PAPER:
            for instance in instances_for(paper, 1, quick=True, first_seed=args.seed):
                found.append((instance.ident, build_problem(instance.baseline)))
    return found


def _print(ident: str, problem: Problem, rows: list[dict[str, Any]]) -> None:
    pods = sum(c.count for c in problem.classes) + sum(k for _, k in problem.fixed_by_priority)
    pending = sum(c.pending_count for c in problem.classes)
    print(f"## {ident}: {len(problem.nodes)} nodes, {pods} pods, {pending} pending", flush=True)
    for row in rows:
        gained = ",".join(map(str, row["gained"]))
        print(
            f"  {row['budget']:4.0f}s {row['solver']:17} gained [{gained}] short "
            f"[{row['short']}] disturbed {row['disturbed']:4} per-gained {row['per_gained']} "
            f"wall {row['wall']:5.1f}s cpu {row['cpu']:5.1f}s "
            f"peak {row['peak_mb']} MB (base {row['base_mb']}) "
            f"({row['by']}){'  best' if not row['short'] else ''}",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fallback", description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000", help="fragmented cluster sizes")
    parser.add_argument("--paper", action="store_true", help="also the paper's grid (quick)")
    parser.add_argument("--budgets", default="1,10")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--json", type=Path, help="append the rows here, one JSON per line")
    args = parser.parse_args(argv)
    unknown = set(args.solvers.split(",")) - set(SOLVERS)
    if unknown:
        parser.error(f"unknown solvers: {', '.join(sorted(unknown))}")
    for ident, problem in _instances(args):
        rows = [
            _row(problem, name, float(budget))
            for budget in args.budgets.split(",")
            for name in args.solvers.split(",")
        ]
        best = max(tuple(row["key"]) for row in rows)
        tiers = len(problem.priorities)
        for row in rows:
            short = [b - k for b, k in zip(best[:tiers], row["key"][:tiers], strict=True)]
            row["short"] = ",".join(f"t{i}:{s}" for i, s in enumerate(short) if s)
            row["instance"], row["nodes"] = ident, len(problem.nodes)
        _print(ident, problem, rows)
        if args.json is not None:
            with args.json.open("a") as out:
                out.writelines(json.dumps(row) + "\n" for row in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
