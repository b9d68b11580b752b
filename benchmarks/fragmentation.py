"""Does the prioritize rule leave fewer pods Pending than kube-scheduler alone? (the paper's grid)

Every instance of the paper's workload (``benchmarks.workloads_paper.paper_workload``: nodes x
pods per node x priorities x utilisation, several seeds) is scheduled by the kube-scheduler
stand-in of ``benchmarks.kube_baseline`` (default scoring, DefaultPreemption, retries): once as
is, and once per rule and weight with the extender's prioritize score added the way kube-scheduler
adds it (``score x weight x 10``) over the nodes that passed its filter, as the verb gets them.
Rules: ``best-fit`` (``scheduler_ext.extender.scoring.best_fit_score``), ``policy`` (the verb's
policy rule, ``scheduler_ext.solvers.policy.rule``: ``prioritize.npz``, or ``policy=FILE.npz``),
``placement`` and ``placement-range`` (the placement weights, ``weights.npz``, mapped relative to
the best candidate or min..max). Reported: pods left Pending in all,
and per instance whether the final placement is lexicographically better, equal or worse by priority
(highest first) than kube-scheduler alone, and against the first rule.

    python -m benchmarks.fragmentation [--seeds 5] [--first-seed 0] [--weights 1,2]
        [--rules best-fit,policy,policy=FILE.npz,placement]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import kube_baseline
from benchmarks.workloads_paper import PaperSpec, paper_workload
from scheduler_ext.domain import CPU, MEMORY, PODS, Cluster, Pod
from scheduler_ext.extender import scoring
from scheduler_ext.solvers.policy import rule as policy_rule
from scheduler_ext.solvers.policy.network import PolicyNet, shipped

MAPPINGS: dict[str, policy_rule.ScoreMap] = {
    "policy": policy_rule.SIGMOID,
    "placement": policy_rule.RATIO,
    "placement-range": policy_rule.RANGE,
}
"""The policy rules: the verb's (``prioritize.npz``), and the placement weights' two mappings."""
RULES = ("best-fit", *MAPPINGS)


class _WithExtender(kube_baseline._Scheduler):
    """kube-scheduler's choice with the extender's prioritize score added (weight x 10 x score)."""

    weight = 1
    rule = "best-fit"
    net: PolicyNet | None = None
    temperature = policy_rule.TEMPERATURE

    def extras(self, pod: Pod, states: list[kube_baseline._NodeState]) -> list[int]:
        """The rule's 0..10 for each of ``states`` (every one has room for ``pod``)."""
        demand = pod.demand()
        if self.rule == "best-fit":
            out = []
            for state in states:
                free = {n: state.alloc.get(n, 0) - state.used.get(n, 0) for n in demand}
                free[PODS] = state.alloc.get(PODS, 0) - len(state.pods)
                out.append(scoring.best_fit_score(demand, (state.alloc, free)))
            return out
        alloc = {
            n: np.array([s.alloc.get(n, 0) for s in states], dtype=np.int64) for n in (CPU, MEMORY)
        }
        room = {
            n: np.array([s.alloc.get(n, 0) - s.used.get(n, 0) for s in states], dtype=np.int64)
            for n in (CPU, MEMORY)
        }
        alloc[PODS] = np.array([s.alloc.get(PODS, 0) for s in states], dtype=np.int64)
        room[PODS] = alloc[PODS] - np.array([len(s.pods) for s in states], dtype=np.int64)
        mapping = MAPPINGS[self.rule]
        net = self.net or (shipped() if self.rule.startswith("placement") else None)
        scores = policy_rule.policy_priorities(
            demand,
            room,
            alloc,
            len(states),
            net=net,
            mapping=mapping,
            temperature=self.temperature,
        )
        return [int(v) for v in scores.tolist()]

    def schedule(self, pod: Pod) -> bool:
        fitting = [state for state in self.allowed(pod) if state.fits(pod)]
        if fitting:
            extras = self.extras(pod, fitting)
            ranked = zip(fitting, extras, strict=True)
            chosen, _ = min(
                ranked, key=lambda se: (-(se[0].score(pod) + se[1] * self.weight * 10), se[0].name)
            )
            self.bind(pod, chosen)
            return True
        return self.preemption and self.preempt(pod)


def schedule(
    cluster: Cluster, weight: int, rule: str = "best-fit", net: PolicyNet | None = None
) -> kube_baseline.BaselineResult:
    """The baseline with (weight > 0) or without (0) the extender's prioritize by ``rule``."""
    if weight == 0:
        return kube_baseline.kube_schedule(cluster)
    _WithExtender.weight, _WithExtender.rule, _WithExtender.net = weight, rule, net
    original = kube_baseline._Scheduler
    kube_baseline._Scheduler = _WithExtender  # type: ignore[misc]
    try:
        return kube_baseline.kube_schedule(cluster)
    finally:
        kube_baseline._Scheduler = original  # type: ignore[misc]


@dataclass(frozen=True)
class Arm:
    """A rule at a weight (weight 0: kube-scheduler alone), with the policy's weights file."""

    rule: str
    weight: int
    weights_file: Path | None = None

    @property
    def label(self) -> str:
        if self.weight == 0:
            return "kube-scheduler alone"
        source = f" ({self.weights_file.name})" if self.weights_file else ""
        return f"+ {self.rule}{source}, weight {self.weight}"


ALONE = Arm("none", 0)
GRID = ([4, 8, 16, 32], [4, 8], [1, 2, 4], [0.9, 0.95, 1.0, 1.05])
"""nodes x pods per node x priorities x utilisation: the paper's grid."""


def _verdict(key: tuple[int, ...], other: tuple[int, ...]) -> str:
    return "better" if key > other else "equal" if key == other else "worse"


def compare(seeds: Sequence[int], arms: Sequence[Arm]) -> dict[Arm, dict[str, Any]]:
    """Per arm: instances, pods left Pending, and better/equal/worse than kube-scheduler alone
    and (``vs_first``) than the first arm."""
    everyone = [ALONE, *arms]
    nets = {arm: PolicyNet.load(arm.weights_file) if arm.weights_file else None for arm in arms}
    totals: dict[Arm, dict[str, Any]] = {
        arm: {"pending": 0, "better": 0, "equal": 0, "worse": 0, "instances": 0, "vs_first": {}}
        for arm in everyone
    }
    grid = itertools.product(*GRID)
    for (nodes, ppn, k, util), seed in itertools.product(grid, seeds):
        spec = PaperSpec(nodes=nodes, pods_per_node=ppn, priorities=k, util=util, seed=seed)
        cluster = paper_workload(spec)
        keys: dict[Arm, tuple[int, ...]] = {}
        for arm in everyone:
            result = schedule(cluster, arm.weight, arm.rule, nets.get(arm))
            placed = result.placed_by_priority()
            keys[arm] = tuple(placed.get(p, 0) for p in range(k, 0, -1))
            row = totals[arm]
            row["pending"] += len(result.pending())
            row["instances"] += 1
            row[_verdict(keys[arm], keys[ALONE])] += 1
        for arm in everyone:
            verdict = _verdict(keys[arm], keys[everyone[min(1, len(arms))]])
            versus = totals[arm]["vs_first"]
            versus[verdict] = versus.get(verdict, 0) + 1
    return totals


def parse_arms(rules: str, weights: str) -> list[Arm]:
    """``rule[=weights.npz],...`` x ``w,...``; ValueError with one line when wrong."""
    levels = [int(w) for w in weights.split(",")]
    if not levels or any(w <= 0 for w in levels):
        raise ValueError("weights are positive integers")
    arms = []
    for spec in (r for r in rules.split(",") if r):
        rule, _, path = spec.partition("=")
        if rule not in RULES:
            raise ValueError(f"rules are {', '.join(RULES)}, not {rule!r}")
        if path and not Path(path).is_file():
            raise ValueError(f"no such file: {path}")
        arms += [Arm(rule, w, Path(path) if path else None) for w in levels]
    if not arms:
        raise ValueError("no rule given")
    return arms


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fragmentation", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--weights", default="1,2")
    parser.add_argument("--rules", default="best-fit", help="rule[=weights.npz],...")
    args = parser.parse_args(argv)
    try:
        arms = parse_arms(args.rules, args.weights)
    except ValueError as exc:
        print(f"fragmentation: {exc}", file=sys.stderr)
        return 2
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    totals = compare(seeds, arms)
    print(f"seeds {seeds.start}-{seeds.stop - 1}")
    print(
        "| prioritize | instances | pods left Pending | better | equal | worse |"
        f" vs {arms[0].label.lstrip('+ ')} (better/equal/worse) |"
    )
    print("|---|---|---|---|---|---|---|")
    for arm, row in totals.items():
        versus = row["vs_first"]
        against = "/".join(str(versus.get(v, 0)) for v in ("better", "equal", "worse"))
        print(
            f"| {arm.label} | {row['instances']} | {row['pending']} | {row['better']} |"
            f" {row['equal']} | {row['worse']} | {against} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
