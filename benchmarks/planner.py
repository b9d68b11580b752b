"""Benchmark: the planner against a kube-scheduler baseline on the paper's grid and beyond.

For every instance: generate the workload (``benchmarks.workloads``), let the kube-scheduler
stand-in place it (``benchmarks.kube_baseline``, DefaultPreemption on), then run ``make_plan`` on
the baseline's end state with the time budget, and verify the plan with the independent checker
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
budget). Run from the repository root::

    python -m benchmarks.planner --quick
    python -m benchmarks.planner                       # the paper grid, 12 seeds, 1 s: ~15 min
    python -m benchmarks.planner --sizes all --seeds 2

The "better-or-proven-optimal" column is the target metric: the plan places strictly more pods
(lexicographically by priority) than the baseline, or it proves that nothing can.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/planner.py`
    sys.path.insert(0, str(ROOT))

from benchmarks.kube_baseline import kube_schedule  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    PaperSpec,
    fragmented_cluster,
    paper_workload,
    to_kubectl_list,
)
from scheduler_ext.domain import Cluster  # noqa: E402
from scheduler_ext.planning.options import PlanOptions  # noqa: E402
from testkit import checker  # noqa: E402

UTILS = (0.90, 0.95, 1.00, 1.05)
SEED_SEARCH_FACTOR = 40
"""For util < 1, look at up to this many seeds per wanted instance for one the scheduler fails."""


@dataclass(frozen=True)
class Size:
    name: str
    nodes: int
    pods_per_node: int
    kind: str  # "paper" | "fragmented"
    priorities: tuple[int, ...] = (1, 2, 4)
    utils: tuple[float, ...] = UTILS
    time_limit: float | None = None
    """Overrides --time-limit (the 5,000-node cluster gets 10 s)."""


PAPER = [Size(f"{n}x{p}", n, p, "paper") for n in (4, 8, 16, 32) for p in (4, 8)]
LARGER = [Size(f"{n}x8", n, 8, "paper", priorities=(4,)) for n in (64, 128, 256)]
HUGE = [
    Size("1000x30", 1000, 30, "fragmented"),
    Size("5000x30", 5000, 30, "fragmented", time_limit=10.0),
]
ALL = {s.name: s for s in [*PAPER, *LARGER, *HUGE]}
GROUPS = {"paper": PAPER, "larger": LARGER, "huge": HUGE, "all": [*PAPER, *LARGER, *HUGE]}


@dataclass
class Instance:
    ident: str
    size: Size
    priorities: int  # K, 0 for fragmented clusters
    util: float
    baseline: Cluster
    failing: bool


@dataclass
class Outcome:
    instance: Instance
    wall: float = 0.0
    reported_wall: float = 0.0
    optimal: bool = False
    improves: bool = False
    gained: dict[int, int] = field(default_factory=dict)
    disturbed: int = 0
    evictions: int = 0
    error: str = ""
    warning: str = ""


@dataclass
class SizeReport:
    size: Size
    time_limit: float
    instances: int = 0
    k4_instances: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    seconds: float = 0.0


# --- instances ---------------------------------------------------------------------------------


def _paper_instances(size: Size, seeds: int, quick: bool) -> Iterator[Instance]:
    priorities = (4,) if quick else size.priorities
    utils = (0.95, 1.05) if quick else size.utils
    for k in priorities:
        for util in utils:
            found = 0
            for seed in range(seeds * SEED_SEARCH_FACTOR if util < 1.0 else seeds):
                if found == seeds:
                    break
                cluster = paper_workload(PaperSpec(size.nodes, size.pods_per_node, k, util, seed))
                if util < 1.0 and not kube_schedule(cluster, preemption=False).pending():
                    continue  # the paper keeps only seeds where the scheduler leaves pods Pending
                found += 1
                end = kube_schedule(cluster)
                yield Instance(
                    ident=f"{size.name}-k{k}-u{util:.2f}-s{seed}",
                    size=size,
                    priorities=k,
                    util=util,
                    baseline=end.cluster,
                    failing=bool(end.pending()),
                )


def _fragmented_instances(size: Size, seeds: int) -> Iterator[Instance]:
    for seed in range(seeds):
        cluster = fragmented_cluster(size.nodes, size.pods_per_node, seed=seed)
        end = kube_schedule(cluster)
        yield Instance(
            ident=f"{size.name}-s{seed}",
            size=size,
            priorities=0,
            util=0.0,
            baseline=end.cluster,
            failing=bool(end.pending()),
        )


def instances_for(size: Size, seeds: int, quick: bool) -> list[Instance]:
    if size.kind == "paper":
        return list(_paper_instances(size, seeds, quick))
    return list(_fragmented_instances(size, max(1, min(seeds, 2))))


# --- the planner subprocess ----------------------------------------------------------------------


def _worker_main() -> int:
    """Reads pickled (ident, cluster, options, isolate) jobs on stdin; one JSON line per plan."""
    import resource

    from scheduler_ext.planning.planner import make_plan
    from scheduler_ext.planning.render import plan_to_dict

    with contextlib.suppress(ImportError):  # warm: forked solver children inherit the import
        importlib.import_module("scheduler_ext.solvers.cpsat.solver")

    jobs: list[tuple[str, Cluster, PlanOptions, bool]] = pickle.load(sys.stdin.buffer)
    for ident, cluster, options, isolate in jobs:
        started = time.monotonic()
        try:
            plan = plan_to_dict(make_plan(cluster, options, started=started, isolate=isolate))
            error = ""
        except Exception as exc:  # reported per instance, the run goes on
            plan, error = {}, f"{type(exc).__name__}: {exc}"
        wall = time.monotonic() - started
        rss = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        line = {"id": ident, "plan": plan, "wall": wall, "rss_kb": rss, "error": error}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    return 0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _run_child(argv: list[str], stdin: bytes | None) -> tuple[bytes, bytes, int, float, int]:
    """Run a child; returns stdout, stderr, exit status, wall seconds and its peak RSS in KiB."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env=_env(),
        )
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), proc.returncode, wall, usage.ru_maxrss


def run_planner(
    instances: Sequence[Instance], time_limit: float, isolate: bool
) -> tuple[list[dict[str, Any]], int]:
    options = PlanOptions(time_limit_seconds=time_limit)
    jobs = [(i.ident, i.baseline, options, isolate) for i in instances]
    out, err, code, _, rss = _run_child(
        [sys.executable, "-m", "benchmarks.planner", "--worker"], pickle.dumps(jobs)
    )
    if code != 0:
        sys.stderr.write(err.decode(errors="replace")[-4000:])
        raise SystemExit(f"planner worker failed with exit code {code}")
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()], rss


def judge(instance: Instance, line: dict[str, Any]) -> Outcome:
    outcome = Outcome(instance=instance, wall=line["wall"])
    if line["error"]:
        outcome.error = line["error"]
        return outcome
    plan = line["plan"]
    outcome.reported_wall = plan["status"]["wallSeconds"]
    solver = plan["status"].get("solver")
    if solver not in checker.SOLVERS:  # a contract deviation; still check everything else
        outcome.warning = f"status.solver {solver!r} is not one of {sorted(checker.SOLVERS)}"
        plan = {**plan, "status": {**plan["status"], "solver": "none"}}
    try:
        result = checker.check_plan(instance.baseline, plan)
    except AssertionError as exc:
        outcome.error = f"checker: {exc}"
        return outcome
    outcome.optimal = plan["status"]["optimal"]
    outcome.improves = result.improves
    outcome.gained = result.gained()
    outcome.disturbed, outcome.evictions = result.disturbed, result.evictions
    return outcome


# --- the command line, end to end ----------------------------------------------------------------


@dataclass
class CliTiming:
    instance: str
    pods: int
    time_limit: float
    process_wall: float
    reported_wall: float
    peak_rss_mb: float
    verdict: str


def _cli_command() -> list[str]:
    exe = shutil.which("scheduler-ext")
    return [exe] if exe else [sys.executable, "-m", "scheduler_ext"]


def time_cli(instance: Instance, time_limit: float) -> CliTiming:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.json"
        path.write_text(json.dumps(to_kubectl_list(instance.baseline)))
        argv = [
            *_cli_command(),
            "plan",
            "--snapshot",
            str(path),
            "--time-limit",
            str(time_limit),
            "--output",
            "json",
        ]
        out, err, code, wall, rss = _run_child(argv, None)
    if code != 0:
        verdict = f"exit {code}: {err.decode(errors='replace').strip()[-200:]}"
        reported = float("nan")
    else:
        plan = json.loads(out)
        reported = plan["status"]["wallSeconds"]
        note = ""
        if plan["status"].get("solver") not in checker.SOLVERS:
            note = f" (solver {plan['status'].get('solver')!r} not in the contract)"
            plan = {**plan, "status": {**plan["status"], "solver": "none"}}
        try:
            checker.check_plan(instance.baseline, plan)
            verdict = "valid" + (", improves" if plan["status"]["improves"] else "") + note
        except AssertionError as exc:
            verdict = f"INVALID: {exc}"
    return CliTiming(
        instance=instance.ident,
        pods=len(instance.baseline.pods),
        time_limit=time_limit,
        process_wall=wall,
        reported_wall=reported,
        peak_rss_mb=rss / 1024,
        verdict=verdict,
    )


# --- reporting -----------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _gained(outcomes: Sequence[Outcome]) -> str:
    total: Counter[int] = Counter()
    for o in outcomes:
        total.update(o.gained)
    if not total:
        return "-"
    return " ".join(f"{p}:{total[p]:+d}" for p in sorted(total, reverse=True))


def _row(label: str, time_limit: float, count: int, outcomes: list[Outcome], rss: float) -> str:
    planned = [o for o in outcomes if not o.error]
    walls = [o.wall for o in outcomes]
    optimal = sum(o.optimal for o in planned)
    better = sum(o.improves for o in planned)
    either = sum(o.improves or o.optimal for o in planned)
    certified = sum(o.optimal and not o.improves for o in planned)
    errors = len(outcomes) - len(planned)
    cells = [
        label,
        f"{time_limit:g}",
        str(count),
        str(len(outcomes)),
        f"{statistics.median(walls):.2f}" if walls else "-",
        f"{max(walls):.2f}" if walls else "-",
        _pct(optimal, len(outcomes)),
        _pct(better, len(outcomes)),
        _pct(either, len(outcomes)),
        _pct(certified, len(outcomes)),
        _gained(planned),
        f"{sum(o.disturbed for o in planned)}/{sum(o.evictions for o in planned)}",
        f"{rss:.0f}",
        str(errors),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| size | budget (s) | instances | failing | median wall (s) | max wall (s) "
    "| proven optimal | better than baseline | better or proven optimal "
    "| baseline certified optimal | pods gained by priority | disturbed/evicted "
    "| peak RSS (MB) | errors |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def print_report(reports: Sequence[SizeReport], cli: Sequence[CliTiming]) -> None:
    print()
    print(HEADER)
    for r in reports:
        print(_row(r.size.name, r.time_limit, r.instances, r.outcomes, r.peak_rss_mb))
    paper_k4 = [
        o
        for r in reports
        if r.size.kind == "paper"
        for o in r.outcomes
        if o.instance.priorities == 4
    ]
    if paper_k4 and len({r.size.name for r in reports if r.size.kind == "paper"}) > 1:
        count = sum(r.k4_instances for r in reports if r.size.kind == "paper")
        budget = next(r.time_limit for r in reports if r.size.kind == "paper")
        print(_row("paper workload, K=4 pooled", budget, count, paper_k4, 0.0))
    print()
    print("Percentages are of failing instances (the baseline left pods Pending). Gains are summed")
    print(
        "placed pods per priority (highest first) vs the baseline; disturbed = moves + evictions."
    )
    errors = [o for r in reports for o in r.outcomes if o.error]
    for o in errors[:10]:
        print(f"- ERROR {o.instance.ident}: {o.error[:300]}")
    warnings = Counter(o.warning for r in reports for o in r.outcomes if o.warning)
    for text, n in warnings.items():
        print(f"- WARNING ({n} plans): {text}")
    if cli:
        print()
        print(
            "| CLI instance | pods | budget (s) | process wall (s) | status.wallSeconds "
            "| peak RSS (MB) | plan |"
        )
        print("|---|---|---|---|---|---|---|")
        for t in cli:
            print(
                f"| {t.instance} | {t.pods} | {t.time_limit:g} | {t.process_wall:.2f} "
                f"| {t.reported_wall:.2f} | {t.peak_rss_mb:.0f} | {t.verdict} |"
            )


# --- main ----------------------------------------------------------------------------------------


def _sizes(text: str) -> list[Size]:
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
        "--sizes", type=_sizes, default=None, help="groups or sizes, comma-separated"
    )
    parser.add_argument("--seeds", type=int, default=None, help="instances per combination")
    parser.add_argument("--time-limit", type=float, default=1.0, help="planner budget (s)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: sizes 4x4..64x8 and 1000x30, K=4, util 0.95/1.05, 1 seed",
    )
    parser.add_argument(
        "--cli-sizes",
        type=_sizes,
        default=None,
        help="sizes whose first failing instance is also timed through the command line",
    )
    parser.add_argument(
        "--no-isolate", action="store_true", help="run CP-SAT in the planner's own process"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return _worker_main()
    quick_sizes = [ALL[n] for n in ("4x4", "8x8", "16x8", "32x8", "64x8", "1000x30")]
    sizes: list[Size] = args.sizes or (quick_sizes if args.quick else PAPER)
    seeds: int = args.seeds or (1 if args.quick else 12)
    cli_sizes: list[Size] = args.cli_sizes or (
        [ALL["8x8"], ALL["1000x30"]] if args.quick else [ALL["32x8"], ALL["256x8"], ALL["5000x30"]]
    )
    reports: list[SizeReport] = []
    cli: list[CliTiming] = []
    for size in sizes:
        begun = time.monotonic()
        budget = size.time_limit or args.time_limit
        instances = instances_for(size, seeds, args.quick)
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
            lines, rss = run_planner(failing, budget, isolate=not args.no_isolate)
            by_id = {line["id"]: line for line in lines}
            report.outcomes = [
                judge(i, by_id.get(i.ident, {"wall": 0.0, "error": "no result from the worker"}))
                for i in failing
            ]
            report.peak_rss_mb = rss / 1024
            if size in cli_sizes:
                cli.append(time_cli(failing[0], budget))
        report.seconds = time.monotonic() - begun
        reports.append(report)
        print(f"[{size.name}] done in {report.seconds:.0f} s", file=sys.stderr, flush=True)
    print_report(reports, cli)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
