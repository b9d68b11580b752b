"""Several extender configurations against kube-scheduler alone, interleaved round by round.

Issue 13's throughput criterion compares ratios of ratios: the shipped enforce configuration's
with/without against the dry-run configuration's, and the dry-run one's against a do-nothing
extender's. Measured in separate commands, each ratio carries its own command's load (on this
shared machine kube-scheduler alone varies by 2x between commands), so ``--arms`` runs every arm
once per round on one cluster, the order rotated each round (a Latin square when the rounds are a
multiple of the arms), so that the drift of a growing cluster and the other work on the machine
fall on all arms alike. Each arm's round is divided by the same round's run without extender.

The arms are the shipped configurations as an operator gets them (the chart, ``deploy/``):

- ``dry-run``: ``scheduler-ext serve`` in dry-run mode, the verbs of
  ``deploy/kube-scheduler-config.yaml`` (prioritize, preempt);
- ``enforce``: ``serve`` in enforce mode (``SCHEDULER_EXT_MODE=enforce``), the verbs of
  ``deploy/kube-scheduler-config-all-verbs.yaml`` (filter, prioritize, preempt, bind), which is
  what the chart wires for ``mode: enforce``; no plan runs (every pod fits), so this is the price
  of enforce mode's standing verbs;
- ``stub``: ``benchmarks.stub_extender`` (does nothing) with dry-run's verbs: the protocol's floor.

The cluster has the PackingPlan CRD, as the chart installs it in both modes, so both service arms
keep plans as PackingPlans and run that informer.

With ``baseline`` (another checkout's directory), a service arm named with ``@base``
(``enforce@base``) runs that checkout's service in the same configuration: a change and the code
before it measured side by side, in the same rounds.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.verbs_shared import markdown_table
from benchmarks.verbs_throughput import ALL_VERBS, CPU_COLUMNS, _one_run, bench_cluster

WITHOUT = "without"


@dataclass(frozen=True)
class Arm:
    """One configuration of a round: kube-scheduler alone, with the service, or with the stub."""

    name: str
    verbs: tuple[str, ...] = ()
    service: bool = False
    stub: bool = False
    env: dict[str, str] = field(default_factory=dict)

    @property
    def with_extender(self) -> bool:
        return self.service or self.stub


def _verbs_of(path: Any) -> tuple[str, ...]:
    from testkit.service import shipped_extender

    _, entry = shipped_extender(path)
    return tuple(verb for verb in ALL_VERBS if entry.get(f"{verb}Verb"))


def shipped_arms() -> dict[str, Arm]:
    """The arms ``--arms`` may name, from the shipped files."""
    from testkit.service import ALL_VERBS_CONFIG, DRY_RUN_CONFIG

    dry_run = _verbs_of(DRY_RUN_CONFIG)
    return {
        "dry-run": Arm("dry-run", dry_run, service=True),
        "enforce": Arm(
            "enforce",
            _verbs_of(ALL_VERBS_CONFIG),
            service=True,
            env={"SCHEDULER_EXT_MODE": "enforce"},
        ),
        "stub": Arm("stub", dry_run, stub=True),
    }


BASE = "@base"


def with_baseline(arms: dict[str, Arm], baseline: Path | None) -> dict[str, Arm]:
    """``arms`` and, with ``baseline``, each service arm again as ``<name>@base``: the service
    imported from the ``baseline`` checkout (``PYTHONSAFEPATH``: the working directory, this
    checkout, is not put first on the path; ``PYTHONPATH`` is)."""
    if baseline is None:
        return arms
    env = {"PYTHONSAFEPATH": "1", "PYTHONPATH": str(baseline)}
    based = {
        name + BASE: Arm(name + BASE, arm.verbs, service=True, env={**arm.env, **env})
        for name, arm in arms.items()
        if arm.service
    }
    return {**arms, **based}


def round_order(names: Sequence[str], round_index: int) -> list[str]:
    """The run without extender and the arms, rotated by the round's index: over as many rounds
    as runs per round, each takes each position once."""
    order = [WITHOUT, *names]
    shift = round_index % len(order)
    return order[shift:] + order[:shift]


def summarize(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Per arm: pods/s per round, with/without per round and the medians of both; and issue 13's
    two criteria (enforce over dry-run, dry-run over stub) from the medians and per round, for
    the arms present. Rows carry ``run`` (the round's tag), ``extender`` (the arm) and
    ``pods_per_s``."""
    rounds: dict[str, dict[str, float]] = {}
    for row in rows:
        rounds.setdefault(row["run"], {})[row["extender"]] = row["pods_per_s"]
    complete = [r for r in rounds.values() if all(n in r for n in (WITHOUT, *names))]
    arms: dict[str, dict[str, Any]] = {}
    for name in (WITHOUT, *names):
        rates = [r[name] for r in complete]
        ratios = [r[name] / r[WITHOUT] for r in complete]
        arms[name] = {
            "pods_per_s": rates,
            "ratios": ratios,
            "median_pods_per_s": statistics.median(rates) if rates else float("nan"),
            "median_ratio": statistics.median(ratios) if ratios else float("nan"),
        }
    for name in names:
        arms[name]["ratio_of_medians"] = (
            arms[name]["median_pods_per_s"] / arms[WITHOUT]["median_pods_per_s"]
        )
    criteria: dict[str, dict[str, Any]] = {}
    for top, bottom, target in (("enforce", "dry-run", 0.90), ("dry-run", "stub", 0.95)):
        if top in names and bottom in names:
            per_round = [r[top] / r[bottom] for r in complete]
            criteria[f"{top} / {bottom}"] = {
                "target": target,
                "per_round": per_round,
                "median_per_round": statistics.median(per_round),
                "of_median_ratios": arms[top]["median_ratio"] / arms[bottom]["median_ratio"],
            }
    return {"rounds": len(complete), "arms": arms, "criteria": criteria, "cpu": cpu_per_pod(rows)}


def cpu_per_pod(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per arm, the median over its runs of each process's CPU milliseconds per pod bound (the
    ``cpu_s`` columns). On a machine shared with other work these are steadier than the rates:
    they say who pays for an arm, where the rates also say how busy the machine was."""
    columns = [*CPU_COLUMNS, "total"]
    per_arm: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(row["extender"] for row in rows):
        runs = [row for row in rows if row["extender"] == name and row.get("bound")]
        per_arm[name] = {
            column: statistics.median(1000 * row[f"cpu_s {column}"] / row["bound"] for row in runs)
            for column in columns
            if runs and all(f"cpu_s {column}" in row for row in runs)
        }
    return per_arm


def report(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table of arms and one line per criterion."""
    rows = []
    for name, arm in summary["arms"].items():
        rows.append(
            {
                "arm": name,
                "pods/s per round": ", ".join(f"{v:.1f}" for v in arm["pods_per_s"]),
                "median pods/s": f"{arm['median_pods_per_s']:.1f}",
                "with / without per round": ", ".join(f"{v:.2f}" for v in arm["ratios"]),
                "median of per-round ratios": f"{arm['median_ratio']:.2f}",
                "ratio of medians": f"{arm.get('ratio_of_medians', 1.0):.2f}",
            }
        )
    lines = [f"{summary['rounds']} complete rounds", "", markdown_table(rows), ""]
    cpu = [
        {"arm": name, **{f"{column} CPU-ms/pod": f"{value:.2f}" for column, value in row.items()}}
        for name, row in summary.get("cpu", {}).items()
        if row
    ]
    if cpu:
        lines += ["medians over each arm's runs:", "", markdown_table(cpu), ""]
    for label, crit in summary["criteria"].items():
        per_round = ", ".join(f"{v:.2f}" for v in crit["per_round"])
        verdict = "met" if crit["of_median_ratios"] >= crit["target"] else "NOT met"
        lines.append(
            f"{label}: {crit['of_median_ratios']:.3f} of the medians' ratios (target >= "
            f"{crit['target']}: {verdict}); per round {per_round} "
            f"(median {crit['median_per_round']:.3f})"
        )
    return "\n".join(lines)


def measure_arms(
    nodes: int,
    pods: int,
    repeats: int,
    qps: int,
    names: Sequence[str],
    *,
    score_percentage: int = 100,
    profile: Path | None = None,
    baseline: Path | None = None,
) -> list[dict[str, Any]]:
    """``repeats`` rounds on one cluster (``bench_cluster``, CRDs installed), each a run without
    extender and one per arm, in ``round_order``; ``profile``: py-spy's stacks of every service
    run go there (``verbs_throughput._profiler``); ``baseline``: ``with_baseline``."""
    arms = with_baseline(shipped_arms(), baseline)
    with bench_cluster(nodes, crds=True) as (cluster, kube, base):
        rows = []
        for rep in range(repeats):
            for name in round_order(names, rep):
                arm = arms.get(name, Arm(WITHOUT))
                row = _one_run(
                    cluster,
                    kube,
                    pods=pods,
                    with_extender=arm.with_extender,
                    qps=qps,
                    tag=f"r{rep + 1}",
                    base=base,
                    verbs=arm.verbs,
                    stub=arm.stub,
                    score_percentage=score_percentage,
                    label=name,
                    service_env=arm.env,
                    profile=profile,
                )
                row = {"nodes": nodes, "verbs": ",".join(arm.verbs) or "-", **row}
                print(markdown_table([row]), file=sys.stderr, flush=True)
                rows.append(row)
        return rows
