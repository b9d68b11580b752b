"""Benchmark: the planner against a kube-scheduler baseline on the paper's grid and beyond.

For every instance: generate the workload (``benchmarks.workloads_paper``,
``benchmarks.workloads_fragmented``), let the kube-scheduler stand-in place it
(``benchmarks.kube_baseline``, DefaultPreemption on), then run ``make_plan`` on the baseline's
end state with the time budget, and verify the plan with the independent checker
(``testkit/checker.py``). Instances where the baseline leaves nothing Pending ("no calls" in the
paper) are counted but not planned. The planner runs in one fresh subprocess per size (so imports
and memory are those of a real process); wall time is measured inside it from the call to
``make_plan`` (model building included) to its return, and peak RSS is that subprocess's (its
solver children included). For some sizes the whole command line is timed too: the baseline's
end state is written as a kubectl JSON snapshot and ``scheduler-ext plan --snapshot F`` runs on it.

Sizes: ``paper`` = nodes {4,8,16,32} x pods/node {4,8}, each with K {1,2,4} x util {0.90, 0.95,
1.00, 1.05} (for util < 1 only seeds where a deterministic scheduler without preemption leaves
pods Pending, as in the paper); ``larger`` = 64/128/256 nodes x 8 pods/node at K = 4;
``huge`` = fragmented clusters of 1,000 and 5,000 nodes x ~30 pods/node (the latter with a 10 s
budget); ``topology`` = zone-spread and one-per-node Deployments scaled up among fragmented
lower-priority ReplicaSets at 100, 1,000 and 5,000 nodes (``benchmarks.workloads_topology``; 10 s
at 5,000; ``topology-busy`` without idle CPU in the GPU pool), reported per instance as well
(``planner_topology``). Run from the repository root::

    python -m benchmarks.planner --quick
    python -m benchmarks.planner                       # the paper grid, 12 seeds, 1 s: ~15 min
    python -m benchmarks.planner --sizes all --seeds 2
    python -m benchmarks.planner --sizes topology --seeds 3
    python -m benchmarks.planner --reference --help    # against 30 s references (planner_search)

``--first-seed N`` starts every combination's seeds at N (fresh instances); the side-by-side run
against another revision is ``benchmarks.planner_compare``.

The "better-or-proven-optimal" column is the target metric: the plan places strictly more pods
(lexicographically by priority) than the baseline, or it proves that nothing can.

This module is the command line; the work lives by concern in ``planner_instances`` (sizes and
baseline end states), ``planner_running`` (the planner subprocess, the checker, the command-line
timing) and ``planner_report`` (the tables).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/planner.py`
    sys.path.insert(0, str(ROOT))

from benchmarks.planner_instances import ALL, GROUPS, PAPER, Size, instances_for  # noqa: E402
from benchmarks.planner_report import SizeReport, print_report  # noqa: E402
from benchmarks.planner_running import (  # noqa: E402
    CliTiming,
    Outcome,
    judge,
    run_planner,
    time_cli,
    worker_main,
)
from benchmarks.planner_topology import print_topology  # noqa: E402


def parse_sizes(text: str) -> list[Size]:
    out: list[Size] = []
    for part in text.split(","):
        part = part.strip()
        if part in GROUPS:
            out += GROUPS[part]
        elif part in ALL:
            out.append(ALL[part])
        else:
            raise argparse.ArgumentTypeError(
                f"unknown size {part!r}; use {', '.join([*GROUPS, *ALL])}"
            )
    return list(dict.fromkeys(out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument(
        "--sizes", type=parse_sizes, default=None, help="groups or sizes, comma-separated"
    )
    parser.add_argument("--seeds", type=int, default=None, help="instances per combination")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="the first seed of every combination"
    )
    parser.add_argument("--time-limit", type=float, default=1.0, help="planner budget (s)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: sizes 4x4..64x8 and 1000x30, K=4, util 0.95/1.05, 1 seed",
    )
    parser.add_argument(
        "--cli-sizes",
        type=parse_sizes,
        default=None,
        help="sizes whose first failing instance is also timed through the command line",
    )
    parser.add_argument(
        "--no-isolate", action="store_true", help="run CP-SAT in the planner's own process"
    )
    parser.add_argument(
        "--reference",
        nargs=argparse.REMAINDER,
        default=None,
        help="reference mode, its own options follow (benchmarks/planner_search.py; --help)",
    )
    parser.add_argument(
        "--cli-default",
        action="store_true",
        help="time every failing instance of --cli-sizes through the command line, at the "
        "command's default budget (no --time-limit)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--time-build", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return worker_main(time_build=args.time_build)
    if args.reference is not None:
        from benchmarks.planner_search import main as reference_main

        return reference_main(args.reference)
    quick_sizes = [ALL[n] for n in ("4x4", "8x8", "16x8", "32x8", "64x8", "1000x30")]
    sizes: list[Size] = args.sizes or (quick_sizes if args.quick else PAPER)
    seeds: int = args.seeds or (1 if args.quick else 12)
    cli_sizes: list[Size] = args.cli_sizes or (
        [ALL["8x8"], ALL["1000x30"]] if args.quick else [ALL["32x8"], ALL["256x8"], ALL["5000x30"]]
    )
    reports: list[SizeReport] = []
    cli: list[CliTiming] = []
    topology: list[tuple[Outcome, float]] = []
    for size in sizes:
        begun = time.monotonic()
        budget = size.time_limit or args.time_limit
        instances = instances_for(size, seeds, args.quick, args.first_seed)
        failing = [i for i in instances if i.failing]
        print(
            f"[{size.name}] {len(instances)} instances, {len(failing)} failing; planning "
            f"with {budget:g} s each",
            file=sys.stderr,
            flush=True,
        )
        report = SizeReport(
            size=size,
            time_limit=budget,
            instances=len(instances),
            k4_instances=sum(i.priorities == 4 for i in instances),
        )
        if failing:
            lines, rss = run_planner(
                failing,
                budget,
                isolate=not args.no_isolate,
                time_build=size.kind.startswith("topology"),
            )
            by_id = {line["id"]: line for line in lines}
            report.outcomes = [
                judge(i, by_id.get(i.ident, {"wall": 0.0, "error": "no result from the worker"}))
                for i in failing
            ]
            report.peak_rss_mb = rss / 1024
            if size.kind.startswith("topology"):
                topology += [(o, budget) for o in report.outcomes]
            if size in cli_sizes and args.cli_default:
                cli += [time_cli(instance, None) for instance in failing]
            elif size in cli_sizes:
                cli.append(time_cli(failing[0], budget))
        report.seconds = time.monotonic() - begun
        reports.append(report)
        print(f"[{size.name}] done in {report.seconds:.0f} s", file=sys.stderr, flush=True)
    print_report(reports, cli)
    print_topology(topology)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
