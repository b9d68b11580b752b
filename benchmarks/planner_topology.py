"""The planner benchmark's table for the topology workloads, one row per instance.

The size table (``planner_report``) pools instances; for zone-spread and one-per-node Deployments
the question is which of their new replicas end up running, and what it costs: each row follows
the constrained Pending pods from the generated cluster through the kube-scheduler stand-in
(which preempts for the ``critical-service`` ones and not for the ``critical-nonpreempting``
ones) to the plan, then gives the placed pods per priority before and after the plan (the
checker's count), the moves and evictions, and where the planner's time went: ``build`` is
``build_problem`` timed alone after the plan, ``stages`` the solver stages' own seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.planner_running import Outcome
from scheduler_ext.domain import Pod

CONSTRAINED_PRIORITY = 100_000


def _kind(pod: Pod) -> str:
    if pod.spread and pod.anti_affinity:
        return "both"
    return "spread" if pod.spread else "per-node"


def _tiers(o: Outcome) -> str:
    cells = [
        f"{p}: {b}→{a}"
        for p, b, a in zip(o.priorities, o.before, o.after, strict=True)
        if b != a or p == CONSTRAINED_PRIORITY
    ]
    return ", ".join(cells) or "-"


def _stages(o: Outcome) -> str:
    top = sorted(o.stage_seconds.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name} {sec:.1f}" for name, sec in top) or "-"


def _row(o: Outcome, budget: float) -> str:
    inst = o.instance
    generated = inst.generated
    assert generated is not None
    waiting = [p for p in generated.pods if p.node_name is None and (p.spread or p.anti_affinity)]
    running = {p.key for p in inst.baseline.pods if p.node_name is not None}
    after_kube = [p for p in waiting if p.key not in running]
    after_plan = [p for p in after_kube if p.key not in o.landed]
    kinds = ("spread", "per-node", "both")
    by_kind = "/".join(
        f"{sum(_kind(p) == k for p in after_kube)}→{sum(_kind(p) == k for p in after_plan)}"
        for k in kinds
    )
    verdict = o.error[:120] if o.error else "valid"
    build = f"{o.build_seconds:.2f}" if o.build_seconds is not None else "-"
    cells = [
        inst.ident,
        f"{len(inst.baseline.nodes)}/{len(inst.baseline.pods)}",
        f"{budget:g}",
        f"{len(waiting)} → {len(after_kube)} ({inst.preemptions}/{inst.victims}) → "
        f"{len(after_plan)}",
        by_kind,
        _tiers(o),
        "yes" if o.optimal else "no",
        f"{o.disturbed - o.evictions}/{o.evictions}",
        f"{o.wall:.2f}",
        build,
        _stages(o),
        verdict,
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| instance | nodes/pods | budget (s) | constrained Pending: generated → after baseline "
    "(preemptions/victims) → after plan | after baseline → after plan: spread/per-node/both "
    "| placed by priority, before → after plan | proven optimal | moves/evictions "
    "| wall (s) | build (s) | solver stages (s) | checker |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def print_topology(rows: Sequence[tuple[Outcome, float]]) -> None:
    if not rows:
        return
    print()
    print(HEADER)
    for outcome, budget in rows:
        print(_row(outcome, budget))
