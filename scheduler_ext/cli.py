"""The ``scheduler-ext`` command line.

``plan`` reads a snapshot (or the live cluster, read-only), plans within ``--time-limit`` seconds
counted from the moment the command starts, and prints the PackingPlan. Expected failures (a bad
snapshot, an unreachable cluster, a bad flag) print one line and exit with status 2; nothing here
prints a traceback. Heavy modules are imported only once the arguments are known, so ``plan`` on a
file imports neither the Kubernetes client nor the web stack.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scheduler_ext.solvers.isolation import SolverWorker

EXIT_USAGE = 2

logger = logging.getLogger(__name__)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scheduler-ext",
        description="Places Pending pods by priority when kube-scheduler cannot.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan",
        help="compute a PackingPlan for a snapshot or the live cluster (read-only)",
        description="Compute the lexicographically best placement by priority and print it.",
    )
    plan.add_argument(
        "--snapshot",
        action="append",
        metavar="FILE",
        help="JSON or YAML from `kubectl get nodes,pods,poddisruptionbudgets,priorityclasses "
        "-A -o json` (repeatable); without it the live cluster is read",
    )
    plan.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig for the live cluster")
    plan.add_argument(
        "--time-limit",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="budget for the whole command: read, build, solve, write (default 1)",
    )
    plan.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    plan.add_argument("--solver", choices=("auto", "cpsat", "greedy"), default="auto")
    plan.add_argument(
        "--max-disruptions",
        type=_non_negative_int,
        metavar="N",
        help="move or evict at most N running pods in all (default: no limit)",
    )
    plan.add_argument(
        "--allow-local-storage",
        action="store_true",
        help="allow moving pods with emptyDir or hostPath volumes (their data is lost)",
    )
    plan.add_argument(
        "--workers", type=_non_negative_int, default=0, help="CP-SAT workers (0: one per core)"
    )
    return parser


def _run_plan(args: argparse.Namespace, started: float) -> int:
    from scheduler_ext.solvers.isolation import SolverWorker

    # Started first: the solver's imports overlap with reading the input.
    worker = SolverWorker() if args.solver != "greedy" else None
    try:
        return _plan_with(args, started, worker)
    finally:
        if worker is not None:
            worker.close()


def _plan_with(args: argparse.Namespace, started: float, worker: SolverWorker | None) -> int:
    from scheduler_ext.errors import SchedulerExtError

    try:
        if args.snapshot:
            from scheduler_ext.cluster.snapshot import load_snapshot

            cluster = load_snapshot(args.snapshot)
        else:
            from scheduler_ext.cluster.client import read_cluster

            cluster = read_cluster(args.kubeconfig)
    except SchedulerExtError as exc:
        print(f"scheduler-ext: error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE

    from scheduler_ext.planning import render
    from scheduler_ext.planning.options import PlanOptions
    from scheduler_ext.planning.planner import make_plan

    options = PlanOptions(
        time_limit=args.time_limit,
        solver=args.solver,
        max_disruptions=args.max_disruptions,
        allow_local_storage=args.allow_local_storage,
        workers=args.workers,
    )
    plan = make_plan(cluster, options, started=started, worker=worker)
    writers = {"table": render.to_table, "json": render.to_json, "yaml": render.to_yaml}
    sys.stdout.write(writers[args.output](plan).rstrip("\n") + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "plan":
        return _run_plan(args, started)
    return EXIT_USAGE  # pragma: no cover  (argparse requires a command)
