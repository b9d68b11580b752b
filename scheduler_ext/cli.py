"""The ``scheduler-ext`` command line.

``plan`` reads a snapshot (or the live cluster, read-only), plans within ``--time-limit`` seconds
counted from the moment the command starts, and prints the PackingPlan. Expected failures (a bad
snapshot, an unreachable cluster, a bad flag) print one line and exit with status 2; nothing here
prints a traceback. Heavy modules are imported only once the arguments are known, so ``plan`` on a
file imports neither the Kubernetes client nor the web stack.

``explain NAMESPACE/POD`` reads the same input and says, per node, what keeps that Pending pod off
it, then what the smallest plan that places it would change (``planning/explain.py``).

``train-policy`` trains the placement policy on generated clusters, reproducibly from
``--seed``, and writes its weights (``solvers/policy``).

``serve`` runs the extender service (``scheduler_ext.app``) under uvicorn, one worker (the state is
in memory). Its settings come from flags, ``SCHEDULER_EXT_*`` variables and ``--config``; a bad
value prints one line per problem and exits with status 2 before anything listens.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from scheduler_ext.planning.options import SOLVER_CHOICES, PlanOptions, parse_owner_kinds

if TYPE_CHECKING:
    from scheduler_ext.domain import Cluster
    from scheduler_ext.solvers.isolation import SolverWorker

EXIT_USAGE = 2


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


def _owner_kinds(text: str) -> frozenset[str]:
    try:
        return parse_owner_kinds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _option(name: str) -> dict[str, Any]:
    """``default`` and ``help`` of a ``plan`` flag, from its field of ``PlanOptions``."""
    field = PlanOptions.model_fields[name]
    summary = (field.description or "").split("\n\n")[0].rstrip(".")
    if field.default is None or isinstance(field.default, bool):
        return {"default": field.default, "help": summary}
    if isinstance(field.default, frozenset):  # shown as the flag takes it
        shown = ",".join(sorted(field.default))
        return {"default": field.default, "help": f"{summary} (default: {shown})"}
    return {"default": field.default, "help": f"{summary} (default: %(default)s)"}


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
    _add_input_and_options(plan, outputs=("table", "json", "yaml"))
    _add_explain(commands)
    _add_serve(commands)
    _add_train_policy(commands)
    commands.add_parser(
        "crds",
        help="print the custom resource definitions the service needs (kubectl apply -f -)",
        description="Print the PackingPlan CustomResourceDefinition, as shipped in the package.",
    )
    return parser


def _add_input_and_options(parser: argparse.ArgumentParser, outputs: tuple[str, ...]) -> None:
    """The flags ``plan`` and ``explain`` share: where the cluster comes from, the planning
    options (``PlanOptions``), the output format."""
    parser.add_argument(
        "--snapshot",
        action="append",
        metavar="FILE",
        help="JSON or YAML from `kubectl get nodes,pods,poddisruptionbudgets,priorityclasses,"
        "namespaces -A -o json` (repeatable); without it the live cluster is read",
    )
    parser.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig for the live cluster")
    parser.add_argument(
        "--time-limit",
        type=_positive_float,
        metavar="SECONDS",
        **_option("time_limit_seconds"),
    )
    parser.add_argument("--output", "-o", choices=outputs, default="table")
    parser.add_argument("--solver", choices=SOLVER_CHOICES, **_option("solver"))
    parser.add_argument(
        "--max-disruptions", type=_non_negative_int, metavar="N", **_option("max_disruptions")
    )
    parser.add_argument(
        "--allow-local-storage", action="store_true", **_option("allow_local_storage")
    )
    parser.add_argument(
        "--movable-owner-kinds",
        type=_owner_kinds,
        metavar="KIND,...",
        **_option("movable_owner_kinds"),
    )
    parser.add_argument("--allow-pvc", action="store_true", **_option("allow_pvc"))
    parser.add_argument("--workers", type=_non_negative_int, metavar="N", **_option("workers"))


def _add_explain(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = commands.add_parser(
        "explain",
        help="why a Pending pod is Pending, and what it would take to place it (read-only)",
        description="Per node, what keeps the pod off it now; then the smallest change the "
        "planner finds that places it (moves, evictions), or what holds the room if none does.",
    )
    explain.add_argument("pod", metavar="NAMESPACE/POD")
    _add_input_and_options(explain, outputs=("table", "json"))


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the extender service kube-scheduler calls (filter, prioritize, preempt, bind)",
        description="Serve kube-scheduler's extender verbs at /scheduler, health, metrics and "
        "the plans API; plan in the background for pods kube-scheduler cannot place.",
    )
    serve.add_argument("--config", metavar="FILE", help="YAML settings file")
    serve.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig (default: in-cluster)")
    serve.add_argument(
        "--host", help="listen address (default 127.0.0.1; 0.0.0.0 in a pod, with mutual TLS)"
    )
    serve.add_argument("--port", type=int, help="listen port (default 8888)")
    serve.add_argument(
        "--mode",
        choices=("dry-run", "enforce"),
        help="dry-run (default): plans are only recorded; enforce: plans are carried out",
    )
    serve.add_argument("--tls-cert-file", metavar="PEM", help="serve HTTPS with this certificate")
    serve.add_argument("--tls-key-file", metavar="PEM", help="private key of --tls-cert-file")
    serve.add_argument(
        "--tls-client-ca-file",
        metavar="PEM",
        help="require client certificates signed by this CA (mutual TLS)",
    )


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def _add_train_policy(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = commands.add_parser(
        "train-policy",
        help="train the placement policy (--solver rl, the colony's heuristic) on generated "
        "clusters; the same --seed gives the same weights",
        description="REINFORCE on generated clusters with holes (solvers/policy/instances.py); "
        "prints the one-pass score on held-out clusters before and after, writes the weights.",
    )
    train.add_argument("--seed", type=_non_negative_int, default=1, help="(default: %(default)s)")
    train.add_argument("--steps", type=_positive_int, default=100, help="(default: %(default)s)")
    train.add_argument(
        "--problems", type=_positive_int, default=12, help="training clusters (default: 12)"
    )
    train.add_argument(
        "--nodes", type=_positive_int, default=8, help="nodes per cluster (default: 8)"
    )
    train.add_argument(
        "--output", metavar="FILE.npz", required=True, help="where the weights are written"
    )


def _run_train_policy(args: argparse.Namespace) -> int:
    from pathlib import Path

    output = Path(args.output)
    if output.suffix != ".npz":
        return _usage(f"--output must end in .npz: {args.output}")
    if not output.parent.is_dir():
        return _usage(f"--output: no such directory: {output.parent}")

    from scheduler_ext.solvers.policy.instances import train_generated

    trained = train_generated(args.seed, args.steps, args.problems, args.nodes)
    try:
        trained.net.save(output)
    except OSError as exc:
        return _usage(f"--output: cannot write {output}: {exc.strerror}")
    sys.stdout.write(
        f"held-out one-pass score: random {trained.before:.5f} -> trained {trained.after:.5f}\n"
        f"wrote {output}\n"
    )
    return 0


def _usage(message: str) -> int:
    print(f"scheduler-ext: error: {message}", file=sys.stderr)  # noqa: T201
    return EXIT_USAGE


def _run_serve(args: argparse.Namespace) -> int:
    from scheduler_ext.config import SettingsError, load_settings

    overrides = {
        "mode": args.mode,
        "server": {
            "host": args.host,
            "port": args.port,
            "tls_cert_file": args.tls_cert_file,
            "tls_key_file": args.tls_key_file,
            "tls_client_ca_file": args.tls_client_ca_file,
        },
        "cluster": {"kubeconfig": args.kubeconfig},
    }
    try:
        settings = load_settings(overrides, config_file=args.config)
    except SettingsError as exc:
        for line in exc.lines:
            print(f"scheduler-ext: error: {line}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    if not args.verbose:
        logging.getLogger().setLevel(settings.log_level)

    from scheduler_ext.api.server import serve
    from scheduler_ext.app import create_app
    from scheduler_ext.cluster.client import KubeClient
    from scheduler_ext.errors import ClusterReadError

    kubeconfig = settings.cluster.kubeconfig
    try:
        client = KubeClient.connect(
            str(kubeconfig) if kubeconfig else None,
            watch_read_timeout=settings.cluster.staleness_seconds / 2,
            namespace=settings.cluster.namespace,
        )
    except ClusterReadError as exc:
        print(f"scheduler-ext: error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    serve(create_app(settings, client=client), settings.server)
    return 0


def _run_plan(args: argparse.Namespace, started: float) -> int:
    from scheduler_ext.solvers.isolation import SolverWorker

    # Started first: the solver's imports overlap with reading the input.
    worker = SolverWorker() if args.solver != "greedy" else None
    try:
        return _plan_with(args, started, worker)
    finally:
        if worker is not None:
            worker.close()


def _read_cluster(args: argparse.Namespace) -> Cluster:
    """The snapshot files, or the live cluster (read-only)."""
    if args.snapshot:
        from scheduler_ext.cluster.snapshot import load_snapshot

        return load_snapshot(args.snapshot)
    from scheduler_ext.cluster.client import read_cluster

    return read_cluster(args.kubeconfig)


def _options(args: argparse.Namespace) -> PlanOptions:
    return PlanOptions(
        time_limit_seconds=args.time_limit,
        solver=args.solver,
        max_disruptions=args.max_disruptions,
        allow_local_storage=args.allow_local_storage,
        movable_owner_kinds=args.movable_owner_kinds,
        allow_pvc=args.allow_pvc,
        workers=args.workers,
    )


def _plan_with(args: argparse.Namespace, started: float, worker: SolverWorker | None) -> int:
    from scheduler_ext.errors import SchedulerExtError

    try:
        cluster = _read_cluster(args)
        if args.command == "explain":
            return _explain(cluster, args, started, worker)
    except SchedulerExtError as exc:
        print(f"scheduler-ext: error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE

    from scheduler_ext.planning import render
    from scheduler_ext.planning.planner import make_plan

    plan = make_plan(cluster, _options(args), started=started, worker=worker, reserve="command")
    writers = {"table": render.to_table, "json": render.to_json, "yaml": render.to_yaml}
    sys.stdout.write(writers[args.output](plan).rstrip("\n") + "\n")
    return 0


def _explain(
    cluster: Cluster, args: argparse.Namespace, started: float, worker: SolverWorker | None
) -> int:
    from scheduler_ext.planning import explain

    found = explain.explain(cluster, args.pod, _options(args), started=started, worker=worker)
    writers = {"table": explain.to_table, "json": explain.to_json}
    sys.stdout.write(writers[args.output](found).rstrip("\n") + "\n")
    return 0


def process_started() -> float:
    """``time.monotonic()`` when this process started (Linux: ``/proc/self/stat``), so that a
    command's budget also counts the interpreter's start-up and the imports before ``main``
    (seconds on a loaded machine); now, where that cannot be read."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        # starttime, field 22 of proc(5), in clock ticks since boot; fields[0] is field 3.
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - min(max(age, 0.0), 60.0)


def _exit_now(code: int) -> NoReturn:
    """End the command once its answer is written: the interpreter's own teardown (freeing the
    model, the modules, joining children) took 0.3-1.7 s of wall under load 10, past the budget
    the command had kept. Solver children are killed, not waited for."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    # As a command (arguments from sys.argv), the budget counts from the process start: an
    # operator's wall clock; called with arguments (tests, embedding), from this call.
    started = process_started() if argv is None else time.monotonic()
    args = build_parser().parse_args(argv)
    from scheduler_ext.logs import configure

    configure(logging.WARNING - 10 * min(args.verbose, 2))
    if args.command in ("plan", "explain"):
        code = _run_plan(args, started)
        if argv is None:
            _exit_now(code)
        return code
    if args.command == "serve":
        return _run_serve(args)
    if args.command == "train-policy":
        return _run_train_policy(args)
    if args.command == "crds":
        from scheduler_ext import crds

        sys.stdout.write(crds.manifest())
        return 0
    return EXIT_USAGE  # pragma: no cover  (argparse requires a command)
