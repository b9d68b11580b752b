"""Extender verb latency, and kube-scheduler's throughput with and without the extender.

``latency``: the real service (``create_app`` under uvicorn, in its own process) with a
``ClusterStore`` filled from synthetic Node and Pod objects (10 pods per node), answering filter
and prioritize requests shaped like kube-scheduler's with ``nodeCacheCapable: true`` (the recorded
pod, every node name in ``NodeNames``, as with ``percentageOfNodesToScore: 100``), from
``--concurrency`` client threads on keep-alive connections. Latency is the client's round trip.

``throughput``: a kwokctl cluster (testkit) with ``--nodes`` kwok nodes and *no*
kube-scheduler. Each run creates ``--pods`` small pods in a namespace of its own while nothing
schedules them, then starts the real kube-scheduler binary (hack/kube-bins.sh) with the stock
configuration, or with ``scheduler-ext serve`` (started first) and the shipped extender
configuration (``--verbs`` picks other verbs; ``--stub`` calls a do-nothing extender instead of
the service); a watch opened before the scheduler starts records when each pod is bound.
Throughput is pods bound per second from the first to the last binding, so pod creation is out
of the measurement and the scheduler is the bottleneck. Runs alternate (without, with, with,
without, ...) ``--repeats`` times each on the same cluster. Each row also gives the CPU seconds
the processes spent from the first to the last binding (``/proc/PID/stat``): on a machine whose
cores are all busy, throughput is what the CPU allows, and these columns say who took it.

    python -m benchmarks.verbs latency --nodes 100,1000,5000
    python -m benchmarks.verbs throughput --nodes 1000 --pods 1000 --repeats 3
    python -m benchmarks.verbs throughput --verbs filter,prioritize,preempt,bind
    python -m benchmarks.verbs throughput --stub --verbs filter,prioritize,preempt
    python -m benchmarks.verbs throughput --arms dry-run,enforce,stub --repeats 5
    python -m benchmarks.verbs bind-client --binds 400

``bind-client`` (``benchmarks.verbs_bind_client``): the CPU of one ``KubeClient.bind`` in
process against a live API server, its kept connection beside the ApiClient's urllib3 pool.

``--arms`` (``benchmarks.verbs_arms``) runs the shipped configurations named (``dry-run``;
``enforce``: the service in enforce mode with all four verbs, as the chart wires it; ``stub``:
the do-nothing extender with dry-run's verbs) beside the run without extender in every round, the
order rotated each round, and reports each arm's per-round ratios and medians and issue 13's
criteria (enforce / dry-run >= 0.9, dry-run / stub >= 0.95).
"""

# The docstring above is the command's --help. The work lives by concern in verbs_latency (the
# service on synthetic state), verbs_throughput (the control-plane runs), verbs_meters (bind
# times, CPU seconds) and verbs_shared (the checkout, waiting for a server, tables).

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.verbs_arms import measure_arms, report, shipped_arms, summarize, with_baseline
from benchmarks.verbs_latency import measure_latency, serve_synthetic
from benchmarks.verbs_shared import REPO, markdown_table
from benchmarks.verbs_throughput import ALL_VERBS, measure_throughput, shipped_verbs


def _verbs(text: str) -> tuple[str, ...]:
    verbs = tuple(verb.strip() for verb in text.split(",") if verb.strip())
    unknown = sorted(set(verbs) - set(ALL_VERBS))
    if unknown or not verbs:
        raise SystemExit(f"--verbs: choose among {', '.join(ALL_VERBS)}, not {text!r}")
    return verbs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verbs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    lat = commands.add_parser("latency", help="filter/prioritize latency on synthetic state")
    lat.add_argument("--nodes", default="100,1000,5000")
    lat.add_argument("--concurrency", type=int, default=4)
    lat.add_argument("--requests", type=int, default=200, help="per client thread and verb")
    lat.add_argument(
        "--storm",
        type=int,
        default=0,
        metavar="MIB",
        help="meanwhile, one more client posts filter bodies of MIB MiB back to back",
    )
    lat.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git worktree` of the previous commit): its service is "
        "measured right before this one's, at each size",
    )
    bnd = commands.add_parser("bind-client", help="CPU per KubeClient.bind, kept vs pool")
    bnd.add_argument("--binds", type=int, default=400, help="per arm")
    bnd.add_argument("--block", type=int, default=10, help="binds per turn")
    thr = commands.add_parser("throughput", help="kube-scheduler pods/s with and without")
    thr.add_argument("--nodes", type=int, default=1000)
    thr.add_argument("--pods", type=int, default=1000, help="per run")
    thr.add_argument("--repeats", type=int, default=3, help="runs of each variant")
    thr.add_argument(
        "--qps", type=int, default=1000, help="kube-scheduler's clientConnection.qps (burst 2x)"
    )
    thr.add_argument(
        "--verbs",
        help="the verbs kube-scheduler calls, e.g. filter,prioritize,preempt,bind (default: "
        "those of the shipped deploy/kube-scheduler-config.yaml; without bind kube-scheduler "
        "binds itself)",
    )
    thr.add_argument(
        "--stub",
        action="store_true",
        help="call benchmarks/stub_extender.py (does nothing) instead of the service: the "
        "protocol's own cost (no bind)",
    )
    thr.add_argument(
        "--arms",
        help="compare shipped configurations round by round instead: a comma-separated "
        "choice of dry-run, enforce, stub (not with --verbs or --stub)",
    )
    thr.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="with --arms: another checkout (e.g. `git archive` of the previous commit); arms "
        "named <arm>@base (enforce@base) run its service, in the same rounds",
    )
    thr.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="with --arms: py-spy (pip install py-spy) samples every service run, collapsed "
        "stacks to DIR/service-<round>-<arm>.txt (it costs CPU: not for figures)",
    )
    thr.add_argument(
        "--percentage-of-nodes-to-score",
        type=int,
        default=100,
        help="kube-scheduler's percentageOfNodesToScore in both arms (0: its adaptive default)",
    )
    return parser


def _latency(args: argparse.Namespace) -> None:
    rows = []
    sources = [("baseline", args.baseline.resolve())] if args.baseline else []
    sources.append(("this", REPO))
    for size in (int(n) for n in args.nodes.split(",")):
        for name, source in sources:
            measured = measure_latency(size, args.concurrency, args.requests, source, args.storm)
            if args.baseline:
                measured = [{"service": name, **row} for row in measured]
            rows += measured
            print(markdown_table(rows[-2:]), flush=True)
    print("\n" + markdown_table(rows))


def _arms(text: str, baseline: Path | None) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = with_baseline(shipped_arms(), baseline)
    if not names or set(names) - set(known) or len(set(names)) != len(names):
        raise SystemExit(f"--arms: choose among {', '.join(known)} (each once), not {text!r}")
    return names


def _compare(args: argparse.Namespace) -> None:
    if args.verbs or args.stub:
        raise SystemExit("--arms: the arms set their verbs and extender; drop --verbs/--stub")
    baseline = args.baseline.resolve() if args.baseline else None
    if baseline is not None and not (baseline / "scheduler_ext" / "__init__.py").is_file():
        raise SystemExit(f"--baseline: {baseline} is not a checkout (no scheduler_ext/ in it)")
    names = _arms(args.arms, baseline)
    rows = measure_arms(
        args.nodes,
        args.pods,
        args.repeats,
        args.qps,
        names,
        score_percentage=args.percentage_of_nodes_to_score,
        profile=args.profile.resolve() if args.profile else None,
        baseline=baseline,
    )
    print(markdown_table(rows))
    print("\n" + report(summarize(rows, names)))


def _throughput(args: argparse.Namespace) -> None:
    if args.arms is not None:
        _compare(args)
        return
    rows = measure_throughput(
        args.nodes,
        args.pods,
        args.repeats,
        args.qps,
        verbs=_verbs(args.verbs) if args.verbs else shipped_verbs(),
        stub=args.stub,
        score_percentage=args.percentage_of_nodes_to_score,
    )
    print(markdown_table(rows))
    medians = {
        label: statistics.median(
            r["pods_per_s"] for r in rows if r["extender"].split()[-1] == label
        )
        for label in ("without", "with")
    }
    rounds = [
        rows[i + 1]["pods_per_s"] / rows[i]["pods_per_s"]
        if rows[i]["extender"].endswith("without")
        else rows[i]["pods_per_s"] / rows[i + 1]["pods_per_s"]
        for i in range(0, len(rows) - 1, 2)
    ]
    print(
        f"\nmedian pods/s: without {medians['without']:.1f}, with {medians['with']:.1f}; "
        f"with / without = {medians['with'] / medians['without']:.2f}; per round "
        f"{', '.join(f'{r:.2f}' for r in rounds)} (median {statistics.median(rounds):.2f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_serve"]:
        serve_synthetic(int(argv[1]), int(argv[2]))
        return 0
    args = _parser().parse_args(argv)
    os.chdir(REPO)
    if args.command == "latency":
        _latency(args)
    elif args.command == "bind-client":
        from benchmarks.verbs_bind_client import measure_bind_client

        print(markdown_table(measure_bind_client(args.binds, args.block)))
    else:
        _throughput(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
