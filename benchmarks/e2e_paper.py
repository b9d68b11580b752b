"""The paper's protocol end to end: the real kube-scheduler places each instance of the grid on a
real control plane, then scheduler-ext plans on the state it left, and the instance is classified
as the paper classifies it (``../shared/docs/paper.md`` sections 1.3-1.4).

    python -m benchmarks.e2e_paper run --nodes 4,8,16,32 --ppn 4,8 --k 1,2,4 \\
        --util 0.90,0.95,1.00,1.05 --seeds 1 --budgets 1,10 --out results.jsonl
    python -m benchmarks.e2e_paper report results.jsonl [--plots DIR]

``run`` shares one kwokctl control plane (``testkit``; the stock kube-scheduler, DefaultPreemption
on, default backoffs) across instances: per instance a namespace and nodes of its own, the
ReplicaSets applied one after another and settled (``benchmarks/e2e_paper_kube.py``), the pods
Running per priority recorded; then for each budget the live cluster is read and planned as the
service plans (a warm solver worker, the budget counted from the read), and the plan is checked by
the independent checker (``testkit/checker.py``), which says what the placement becomes. One JSON
line per (instance, budget) goes to ``--out``, appended, so an interrupted run resumes where it
stopped (``--resume`` skips the lines already there).

Until plan execution lands (issue 13), the "after" placement is the checked plan's, not pods seen
Running after the plan was carried out: each line says which (``"after": "planned"``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.workloads_paper import PaperSpec


def grid(
    nodes: Sequence[int],
    ppn: Sequence[int],
    ks: Sequence[int],
    utils: Sequence[float],
    seeds: Sequence[int],
) -> Iterator[PaperSpec]:
    for n, p, k, u, s in itertools.product(nodes, ppn, ks, utils, seeds):
        yield PaperSpec(nodes=n, pods_per_node=p, priorities=k, util=u, seed=s)


def _numbers(text: str, kind: type[int] | type[float]) -> list[Any]:
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"not a comma-separated list of numbers: {text!r}") from None


def _run(args: argparse.Namespace) -> int:
    from benchmarks.e2e_paper_runner import run_grid

    specs = list(
        grid(
            _numbers(args.nodes, int),
            _numbers(args.ppn, int),
            _numbers(args.k, int),
            _numbers(args.util, float),
            range(args.first_seed, args.first_seed + args.seeds),
        )
    )
    out = Path(args.out)
    done: set[tuple[str, float]] = set()
    if args.resume and out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["instance"], row["budget"]))
    started = time.monotonic()
    count = run_grid(specs, _numbers(args.budgets, float), out, done)
    print(f"{count} results in {time.monotonic() - started:.0f}s -> {out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from benchmarks.e2e_paper_report import report

    rows = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line]
    print(report(rows, Path(args.plots) if args.plots else None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e_paper", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run grid instances on the real control plane")
    run.add_argument("--nodes", default="4,8,16,32")
    run.add_argument("--ppn", default="4,8", help="pods per node")
    run.add_argument("--k", default="1,2,4", help="priority levels")
    run.add_argument("--util", default="0.90,0.95,1.00,1.05")
    run.add_argument("--seeds", type=int, default=1, help="seeds per cell")
    run.add_argument("--first-seed", type=int, default=1000)
    run.add_argument("--budgets", default="1,10", help="planning budgets in seconds")
    run.add_argument("--out", default="e2e-paper.jsonl")
    run.add_argument("--resume", action="store_true", help="skip results already in --out")
    rep = commands.add_parser("report", help="tables (and plots) from a results file")
    rep.add_argument("results")
    rep.add_argument("--plots", metavar="DIR", help="write PNG plots there")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _run(args) if args.command == "run" else _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
