"""Running the planner as the benchmark measures it, and judging what it returns.

The planner runs in one fresh subprocess per size (``python -m benchmarks.planner --worker``), so
imports and memory are those of a real process and not of this one, which holds every instance:
wall time is measured inside it from the call to ``make_plan`` (model building included) to its
return, and peak RSS is that subprocess's (its solver children included). Every plan is verified
by the independent checker (``testkit/checker.py``), never by the planner's own accounting. For
some sizes the whole command line is timed too: the baseline's end state is written as a kubectl
JSON snapshot and ``scheduler-ext plan --snapshot F`` runs on it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.planner_instances import Instance
from benchmarks.workloads_kubectl import to_kubectl_list
from scheduler_ext.domain import Cluster
from scheduler_ext.planning.options import PlanOptions
from testkit import checker

ROOT = Path(__file__).resolve().parents[1]


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
    before: tuple[int, ...] = ()
    """Placed pods per priority (``priorities``) before and after the plan, by the checker."""
    after: tuple[int, ...] = ()
    priorities: tuple[int, ...] = ()
    landed: frozenset[str] = frozenset()
    """Pods Pending in the baseline that the plan places."""
    build_seconds: float | None = None
    """``build_problem`` alone, timed again after the plan (``--time-build``)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Solver stages' seconds summed by stage name (the plan's diagnostics)."""


def worker_main(time_build: bool = False) -> int:
    """Reads pickled (ident, cluster, options, isolate) jobs on stdin; one JSON line per plan.

    ``time_build``: once the plan is made, ``build_problem`` runs again alone and its time is
    reported (``build``), to tell model building from search.
    """
    import resource

    from scheduler_ext.model.problem import build_problem
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
        if time_build:
            begun = time.monotonic()
            build_problem(
                cluster,
                policy=options.eviction_policy(),
                max_disruptions=options.max_disruptions,
            )
            line["build"] = time.monotonic() - begun
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    return 0


def _env(checkout: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), env.get("PYTHONPATH", "")]))
    return env


def _run_child(
    argv: list[str], stdin: bytes | None, cwd: Path = ROOT
) -> tuple[bytes, bytes, int, float, int]:
    """Run a child in ``cwd``; returns stdout, stderr, exit status, wall seconds and its peak RSS
    in KiB."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=_env(cwd),
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
    instances: Sequence[Instance],
    time_limit: float,
    isolate: bool,
    *,
    checkout: Path = ROOT,
    python: str = sys.executable,
    time_build: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Plan ``instances`` in one worker process of ``checkout`` (another revision's tree, run
    with ``python``, reads the same pickled jobs: the domain classes must be the same)."""
    options = PlanOptions(time_limit_seconds=time_limit)
    jobs = [(i.ident, i.baseline, options, isolate) for i in instances]
    argv = [python, "-m", "benchmarks.planner", "--worker", *(["--time-build"] * time_build)]
    out, err, code, _, rss = _run_child(argv, pickle.dumps(jobs), cwd=checkout)
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
    outcome.before, outcome.after, outcome.priorities = (
        result.before,
        result.after,
        result.priorities,
    )
    outcome.landed = frozenset(b["pod"] for b in plan["spec"]["bindings"])
    outcome.build_seconds = line.get("build")
    for stage in plan["status"].get("diagnostics", {}).get("stages", []):
        name = stage["name"]
        outcome.stage_seconds[name] = outcome.stage_seconds.get(name, 0.0) + stage["seconds"]
    return outcome


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


def time_cli(instance: Instance, time_limit: float | None) -> CliTiming:
    """``scheduler-ext plan`` on the instance's snapshot; ``time_limit`` None: no
    ``--time-limit``, the command's default budget (``PlanOptions``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.json"
        path.write_text(json.dumps(to_kubectl_list(instance.baseline)))
        limit = [] if time_limit is None else ["--time-limit", str(time_limit)]
        argv = [*_cli_command(), "plan", "--snapshot", str(path), *limit, "--output", "json"]
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
            verdict += ", optimal" if plan["status"].get("optimal") else ""
        except AssertionError as exc:
            verdict = f"INVALID: {exc}"
    if time_limit is None:
        from scheduler_ext.planning.options import PlanOptions

        time_limit = PlanOptions().time_limit_seconds
    return CliTiming(
        instance=instance.ident,
        pods=len(instance.baseline.pods),
        time_limit=time_limit,
        process_wall=wall,
        reported_wall=reported,
        peak_rss_mb=rss / 1024,
        verdict=verdict,
    )
