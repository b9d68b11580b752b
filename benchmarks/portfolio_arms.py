"""Where ``--solver auto`` runs the colony when CP-SAT builds the whole model: arms side by side.

On 2 cores the colony's child beside CP-SAT takes a core in CP-SAT's short 1 s window; run before
CP-SAT it takes time instead, and run only after CP-SAT ends early without a proof it takes
nothing, but places nothing either. Each arm is a warm planner process (``planner_warm``, as the
service calls ``make_plan``) with ``portfolio.WHOLE_COLONY`` set before its first plan; every
instance is planned by all arms in turn, the first arm rotating from instance to instance, so
the machine's load falls on all alike. Plans are judged by the independent checker; references
are read from the cache only (``planner_reference``: no new 30 s runs). Run from the repository
root::

    python -m benchmarks.portfolio_arms --sizes paper --priorities 4 --seeds 1 --time-limit 1
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also run as a script: the arm's worker process
    sys.path.insert(0, str(ROOT))

from benchmarks.planner_instances import instances_for  # noqa: E402
from benchmarks.planner_reference import CACHE, Reference, cache_key, reference  # noqa: E402
from benchmarks.planner_search import _record, _selected, build_parser  # noqa: E402
from benchmarks.planner_search_report import Row, print_rows  # noqa: E402
from benchmarks.planner_warm import WarmPlanner  # noqa: E402
from scheduler_ext.domain import Cluster  # noqa: E402

ARMS = ("alongside", "after", "before")


class ArmPlanner(WarmPlanner):
    """``WarmPlanner`` on this checkout with the colony's placement set to ``arm``."""

    def __init__(self, arm: str) -> None:
        self.root = ROOT
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), arm],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        )


def cached_reference(cluster: Cluster, seconds: float) -> Reference | None:
    """The cached reference, or None when absent (a new one would cost ``seconds``)."""
    if not (CACHE / f"{cache_key(cluster, seconds)}.json").exists():
        return None
    return reference(cluster, seconds)


def _vector(record: dict[str, Any], placed: dict[int, int]) -> tuple[int, ...]:
    tiers = set(record["placed"]) | set(record["reference"]["placed"])
    return tuple(placed.get(p, 0) for p in sorted(tiers, reverse=True))


def _key(record: dict[str, Any]) -> tuple[int, ...]:
    if record["error"]:
        return ()
    placed = record["placed"]
    return (*(placed[p] for p in sorted(placed, reverse=True)), -record["disturbed"])


def summary(records: dict[str, list[dict[str, Any]]]) -> None:
    """Pooled per arm, and per instance against the first arm."""
    print(
        "\n| arm | plans | better or proven | = reference (of cached) | gained per tier "
        "| disturbed / gained median / max | wall median / max (s) | vs first arm |"
    )
    print("|" + "---|" * 8)
    first = records[ARMS[0]]
    for arm, recs in records.items():
        done = [r for r in recs if not r["error"]]
        refs = [r for r in done if r["reference"] is not None]
        equal = sum(_vector(r, r["placed"]) >= _vector(r, r["reference"]["placed"]) for r in refs)
        tiers: dict[int, int] = {}
        for r in done:
            for p, g in r["gained"].items():
                tiers[int(p)] = tiers.get(int(p), 0) + g
        ratios = [
            r["disturbed"] / sum(r["gained"].values())
            for r in done
            if r["improves"] and sum(r["gained"].values()) > 0
        ]
        walls = [r["wall"] for r in recs]
        pairs = list(zip(recs, first, strict=True))
        better = sum(_key(a) > _key(b) for a, b in pairs)
        worse = sum(_key(a) < _key(b) for a, b in pairs)
        churn = f"{statistics.median(ratios):.2f} / {max(ratios):.1f}" if ratios else "-"
        print(
            f"| {arm} | {len(recs)} | {sum(r['improves'] or r['optimal'] for r in done)} "
            f"| {equal} of {len(refs)} "
            f"| {' '.join(f'{p}:{tiers[p]:+d}' for p in sorted(tiers, reverse=True))} "
            f"| {churn} | {statistics.median(walls):.2f} / {max(walls):.2f} "
            f"| {better} better, {len(pairs) - better - worse} equal, {worse} worse |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.prog = "python -m benchmarks.portfolio_arms"
    parser.add_argument("--arms", default=",".join(ARMS), help=f"of {', '.join(ARMS)}")
    args = parser.parse_args(argv)
    arms = [a for a in args.arms.split(",") if a]
    if bad := [a for a in arms if a not in ARMS]:
        parser.error(f"unknown arm {bad[0]!r}; use {', '.join(ARMS)}")
    planners = {arm: ArmPlanner(arm) for arm in arms}
    log = args.log.open("a") if args.log else None
    rows: list[Row] = []
    pooled: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    turn = 0
    try:
        for size in args.sizes:
            size = _selected(size, args)
            budget = size.time_limit or args.time_limit
            failing = [
                i for i in instances_for(size, args.seeds, False, args.first_seed) if i.failing
            ]
            print(f"[{size.name}] {len(failing)} failing instances", file=sys.stderr, flush=True)
            options = {"time_limit_seconds": budget, "workers": args.workers}
            records: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
            for instance in failing:
                ref = cached_reference(instance.baseline, args.reference_seconds)
                order = arms[turn % len(arms) :] + arms[: turn % len(arms)]
                turn += 1
                for arm in order:
                    line = planners[arm].plan(instance.ident, instance.baseline, options)
                    record = _record(instance, ref, line, budget)
                    records[arm].append(record)
                    pooled[arm].append(record)
                    if log is not None:
                        log.write(json.dumps({"side": arm, **record}) + "\n")
                        log.flush()
            rows += [Row(size.name, budget, arm, recs) for arm, recs in records.items()]
    finally:
        for planner in planners.values():
            planner.close()
        if log is not None:
            log.close()
    print_rows(rows)
    summary(pooled)
    return 0


def _serve(arm: str) -> None:
    from benchmarks.planner_warm import serve
    from scheduler_ext.planning import portfolio

    portfolio.WHOLE_COLONY = arm  # type: ignore[assignment]
    serve(sys.stdin.buffer, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] in ARMS:
        _serve(sys.argv[1])
    else:
        raise SystemExit(main())
