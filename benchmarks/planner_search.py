"""Reference mode of the planner benchmark: how close the warm 1 s plan gets to a long run, and at
what churn, for this checkout and others side by side (issue 15).

Per instance: the reference (``planner_reference``: a long plain CP-SAT run, cached on disk), then
the plan of each checkout called as the service calls it (``planner_warm``), the checkouts taking
turns first from one instance to the next so that the machine's load hits them alike. Every plan
is verified by the independent checker (``testkit/checker.py``). Run from the repository root::

    python -m benchmarks.planner --reference --sizes 8x4 --priorities 2 --utils 1.05 --seeds 6
    python -m benchmarks.planner --reference --sizes paper --seeds 3 --first-seed 1000 \\
        --against /path/to/other/checkout --log /tmp/search.jsonl
    python -m benchmarks.planner --reference --reference-seconds 0 --sizes paper --seeds 2 \\
        --against /path/to/other/checkout          # the whole grid side by side, no references

Columns per size and checkout (``planner_search_report``): better-or-proven, equal to the
reference (the plan places at least the reference's pods per priority, compared
lexicographically), pod gap per tier, disturbed pods per pod gained, and how often the plan came
back early with neither proof nor gain.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.planner_instances import ALL, GROUPS, Instance, Size, instances_for
from benchmarks.planner_reference import Reference, reference
from benchmarks.planner_running import judge
from benchmarks.planner_search_report import Row, print_rows
from benchmarks.planner_warm import WarmPlanner

ROOT = Path(__file__).resolve().parents[1]


def _sizes(text: str) -> list[Size]:
    out: list[Size] = []
    for part in text.split(","):
        part = part.strip()
        if part not in GROUPS and part not in ALL:
            raise argparse.ArgumentTypeError(f"unknown size {part!r}")
        out += GROUPS.get(part, [ALL.get(part)])  # type: ignore[list-item]
    return list(dict.fromkeys(out))


def _numbers(kind: type[int] | type[float]) -> Any:
    return lambda text: tuple(kind(part) for part in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.planner --reference", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes", type=_sizes, default=GROUPS["paper"])
    parser.add_argument("--seeds", type=int, default=3, help="instances per combination")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed tried (fresh sets)")
    parser.add_argument("--priorities", type=_numbers(int), default=None, help="K, e.g. 2,4")
    parser.add_argument("--utils", type=_numbers(float), default=None, help="e.g. 1.00,1.05")
    parser.add_argument("--time-limit", type=float, default=1.0, help="planner budget (s)")
    parser.add_argument(
        "--reference-seconds",
        type=float,
        default=30.0,
        help="the reference run's time; 0: no references (side by side only, no = reference)",
    )
    parser.add_argument("--workers", type=int, default=0, help="CP-SAT workers, as the service")
    parser.add_argument(
        "--against",
        type=Path,
        action="append",
        default=[],
        help="another checkout to plan with, side by side (repeatable)",
    )
    parser.add_argument("--log", type=Path, default=None, help="one JSON line per plan")
    return parser


def _selected(size: Size, args: argparse.Namespace) -> Size:
    if size.kind != "paper":
        return size
    return replace(
        size,
        priorities=args.priorities or size.priorities,
        utils=args.utils or size.utils,
    )


def _placed(instance: Instance, gained: dict[int, int]) -> dict[int, int]:
    before = Counter(p.priority for p in instance.baseline.pods if p.node_name is not None)
    return {p: before[p] + g for p, g in gained.items()}


def _record(
    instance: Instance, ref: Reference | None, line: dict[str, Any], budget: float
) -> dict[str, Any]:
    outcome = judge(instance, line)
    status = line.get("plan", {}).get("status", {})
    return {
        "id": instance.ident,
        "wall": outcome.wall,
        "budget": budget,
        "error": outcome.error,
        "optimal": outcome.optimal,
        "improves": outcome.improves,
        "placed": _placed(instance, outcome.gained) if not outcome.error else {},
        "gained": outcome.gained,
        "disturbed": outcome.disturbed,
        "evictions": outcome.evictions,
        "stages": status.get("diagnostics", {}).get("stages", []),
        "solver": status.get("solver"),
        "reference": None if ref is None else {**ref.__dict__},
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sides = [("this", ROOT), *((str(p), p.resolve()) for p in args.against)]
    planners = {label: WarmPlanner(root) for label, root in sides}
    log = args.log.open("a") if args.log else None
    rows: list[Row] = []
    turn = 0
    try:
        for size in args.sizes:
            size = _selected(size, args)
            budget = size.time_limit or args.time_limit
            failing = [
                i for i in instances_for(size, args.seeds, False, args.first_seed) if i.failing
            ]
            print(f"[{size.name}] {len(failing)} failing instances", file=sys.stderr, flush=True)
            refs = {
                i.ident: reference(i.baseline, args.reference_seconds)
                if args.reference_seconds
                else None
                for i in failing
            }
            records: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in sides}
            options = {"time_limit_seconds": budget, "workers": args.workers}
            for instance in failing:
                order = sides if turn % 2 == 0 else sides[::-1]
                turn += 1
                for label, _ in order:
                    line = planners[label].plan(instance.ident, instance.baseline, options)
                    record = _record(instance, refs[instance.ident], line, budget)
                    records[label].append(record)
                    if log is not None:
                        log.write(json.dumps({"side": label, **record}) + "\n")
                        log.flush()
            rows += [Row(size.name, budget, label, recs) for label, recs in records.items()]
            print(f"[{size.name}] done", file=sys.stderr, flush=True)
    finally:
        for planner in planners.values():
            planner.close()
        if log is not None:
            log.close()
    print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
