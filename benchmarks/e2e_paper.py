"""The paper's protocol end to end: the real kube-scheduler places each instance of the grid on a
real control plane, then scheduler-ext (the service, enforce mode) plans and carries its plan out,
and the instance is classified as the paper classifies it (``../shared/docs/paper.md`` sections
1.3-1.4) on the pods Running at the end.

    python -m benchmarks.e2e_paper run --nodes 4,8,16,32 --ppn 4,8 --k 1,2,4 \\
        --util 0.90,0.95,1.00,1.05 --seeds 1 --first-seed 5000 --budgets 1,10 --out results.jsonl
    python -m benchmarks.e2e_paper report results.jsonl [--plots DIR]
    python -m benchmarks.e2e_paper --smoke

``run`` shares one kwokctl control plane across instances (``--fresh-control-plane``: one per
instance, to measure the saving); kube-scheduler runs as a process per phase, so its cache never
carries over (``benchmarks/e2e_paper_procs.py``). Per instance: the stock kube-scheduler settles
the ReplicaSets, applied one after another (``e2e_paper_kube``); then for each budget
``scheduler-ext serve --mode enforce`` beside kube-scheduler with the shipped extender
configuration, until its plan is Completed or Aborted (``e2e_paper_exec``), the second budget on
the default's end state rebuilt (``e2e_paper_replay``). One JSON line per (instance, budget) goes
to ``--out``, appended, so an interrupted run resumes where it stopped (``--resume``).

``--smoke`` runs two small instances (some ReplicaSets guarded by a budget that allows no
disruption) at 1 s and 10 s; its last line reports overcommitted nodes, pods off plan, pods lost
and PDB violations, and it exits 1 unless all are 0 and every plan was carried out or rightly not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
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


SMOKE = (
    PaperSpec(nodes=4, pods_per_node=4, priorities=2, util=1.05, seed=101),
    PaperSpec(nodes=4, pods_per_node=4, priorities=2, util=1.05, seed=107),
)
SMOKE_GUARD_EVERY = 4


def _smoke(args: argparse.Namespace) -> int:
    import tempfile

    from benchmarks.e2e_paper_runner import run_grid

    if args.smoke_out:
        out = Path(args.smoke_out)
        out.unlink(missing_ok=True)
    else:
        out = Path(tempfile.mkdtemp(prefix="e2e-paper-")) / "smoke.jsonl"
    started = time.monotonic()
    run_grid(SMOKE, [1.0, 10.0], out, set(), guard_every=SMOKE_GUARD_EVERY)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line]
    lost = sum(r["lost"] for r in rows)
    violations = sum(r["pdb_violations"] for r in rows)
    off = sum(r["off_plan"] for r in rows)
    over = sum(len(r["overcommitted_after"]) for r in rows)
    bad = [r["instance"] for r in rows if r["outcome"] not in ("Completed", "no improvement")]
    bad += [r["instance"] for r in rows if isinstance(r["checked_after"], str)]
    executed = sum(1 for r in rows if r["outcome"] == "Completed")
    print(f"results: {out} ({time.monotonic() - started:.0f}s)")
    print(
        f"smoke: {len(rows)} runs, {executed} plans carried out, not finished or refused: "
        f"{bad or 'none'}; overcommitted nodes {over}, pods off plan {off}; "
        f"pods lost {lost}, PDB violations {violations}"
    )
    return 0 if (lost, violations, off, over, bad) == (0, 0, 0, 0, []) else 1


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
    count = run_grid(
        specs,
        _numbers(args.budgets, float),
        out,
        done,
        guard_every=args.guard_every,
        fresh=args.fresh_control_plane,
    )
    print(f"{count} results in {time.monotonic() - started:.0f}s -> {out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from benchmarks.e2e_paper_report import report

    rows = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line]
    print(report(rows, Path(args.plots) if args.plots else None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.e2e_paper",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="the small CI configuration")
    parser.add_argument(
        "--smoke-out", metavar="FILE", help="--smoke: results file (default: a temporary directory)"
    )
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run grid instances on the real control plane")
    run.add_argument("--nodes", default="4,8,16,32")
    run.add_argument("--ppn", default="4,8", help="pods per node")
    run.add_argument("--k", default="1,2,4", help="priority levels")
    run.add_argument("--util", default="0.90,0.95,1.00,1.05")
    run.add_argument("--seeds", type=int, default=1, help="seeds per cell")
    run.add_argument("--first-seed", type=int, default=5000)
    run.add_argument("--budgets", default="1,10", help="planning budgets in seconds")
    run.add_argument("--out", default="e2e-paper.jsonl")
    run.add_argument(
        "--guard-every",
        type=int,
        default=0,
        help="every n-th ReplicaSet gets a budget allowing no disruption (0: none, as the paper)",
    )
    run.add_argument(
        "--fresh-control-plane", action="store_true", help="a new control plane per instance"
    )
    run.add_argument("--resume", action="store_true", help="skip results already in --out")
    rep = commands.add_parser("report", help="tables (and plots) from a results file")
    rep.add_argument("results")
    rep.add_argument("--plots", metavar="DIR", help="write PNG plots there")
    return parser


def _exit_on_term(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: the control plane, kube-scheduler and the service are stopped
    by the ``finally`` blocks (a background job ignores SIGINT)."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_term)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.smoke:
        return _smoke(args)
    if args.command is None:
        parser.error("a command (run, report) or --smoke")
    return _run(args) if args.command == "run" else _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
