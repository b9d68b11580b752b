"""``scheduler-ext explain NAMESPACE/POD``: why a pod is Pending, and what would place it.

kube-scheduler answers the first half in one event line ("0/5 nodes are available: 3 Insufficient
cpu, ..."). This adds the detail per node, grouped (the resource and by how much, the taint, the
inter-pod rule), then the second half: the smallest change the planner finds that places this pod
alone (the other Pending pods left aside: the question is about this one), with its moves and
evictions; or, when no plan places it, what still holds the room on each node once every pod the
rules let a plan disturb had left (pods of equal or higher priority, pods the eviction rules keep,
budgets that allow no disruption).

The reasons come from the model's rules (``model/blockers.py``) and the plan from ``make_plan``,
so an explanation agrees with the plans the service makes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scheduler_ext.domain import Cluster, PackingPlan, Pod
from scheduler_ext.errors import SchedulerExtError
from scheduler_ext.model.blockers import (
    Holders,
    NodeVerdict,
    alone,
    blockers_now,
    first_filter_reasons,
    holders,
)
from scheduler_ext.planning.options import PlanOptions
from scheduler_ext.planning.planner import make_plan
from scheduler_ext.planning.render import plan_to_dict, table

if TYPE_CHECKING:
    from scheduler_ext.solvers.isolation import SolverWorker

SHOWN_NODES = 3
"""Nodes named per group; the rest are counted."""

_DETAIL = re.compile(r" \(((?:needs|taint) [^()]*)\)$")
"""A node's own detail: a shortfall's amounts ("Insufficient cpu (needs 3, 2 free)"), the taint
("... taint(s) (taint gpu=yes:NoSchedule)"); other parentheses are kube-scheduler's words."""


class ExplainError(SchedulerExtError):
    """The pod to explain is not in the cluster, or not Pending."""


@dataclass(frozen=True)
class NodeGroup:
    """Nodes that fail for the same reasons; ``details`` gives the first few nodes' own amounts."""

    reasons: tuple[str, ...]
    nodes: tuple[str, ...]
    details: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    pod: Pod
    summary: str
    """kube-scheduler's line: "0/N nodes are available: ..." (or the nodes it fits on now)."""
    counts: tuple[tuple[str, int], ...]
    """The reasons of that line with their node counts, as kube-scheduler counts them."""
    now: tuple[NodeGroup, ...]
    plan: PackingPlan
    placed_on: str | None
    held: tuple[NodeGroup, ...]
    """When no plan places the pod: what holds the room, per group of nodes."""


def _group(verdicts: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[NodeGroup, ...]:
    """Nodes grouped by their reasons without per-node amounts, largest group first."""
    groups: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = {}
    for node, reasons in verdicts:
        key = tuple(_DETAIL.sub("", reason) for reason in reasons)
        groups.setdefault(key, []).append((node, reasons))
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return tuple(
        NodeGroup(
            reasons=key,
            nodes=tuple(node for node, _ in members),
            details=tuple(
                f"{node}: {', '.join(details)}"
                for node, reasons in members[:SHOWN_NODES]
                if (details := [m.group(1) for r in reasons if (m := _DETAIL.search(r))])
            ),
        )
        for key, members in ordered
    )


def reason_counts(verdicts: Sequence[NodeVerdict]) -> tuple[tuple[str, int], ...]:
    """Per reason, the nodes kube-scheduler counts it on: each node's first failing filter."""
    counts: dict[str, int] = {}
    for verdict in verdicts:
        for reason in first_filter_reasons(verdict.reasons):
            key = _DETAIL.sub("", reason)
            counts[key] = counts.get(key, 0) + 1
    return tuple(sorted(counts.items()))


def _summary(verdicts: Sequence[NodeVerdict], counts: Sequence[tuple[str, int]]) -> str:
    fits = [v.node for v in verdicts if not v.reasons]
    if fits:
        return f"{len(fits)}/{len(verdicts)} nodes have room for it now"
    parts = ", ".join(sorted(f"{n} {reason}" for reason, n in counts))  # as FitError sorts
    return f"0/{len(verdicts)} nodes are available: {parts}"


def _held_reasons(found: Holders) -> tuple[str, ...]:
    if not found.short:
        budgets = ", ".join(found.locked_budgets)
        why = f"; budget {budgets} allows no disruption" if budgets else ""
        return (f"room once its {found.freeable} lower-priority movable pod(s) leave{why}",)
    kept = ", ".join(f"{n} {rule}" for rule, n in found.immovable)
    if not found.higher and not kept:
        return (*found.short, "more than the node allocates")
    return (
        *found.short,
        f"held by {found.higher} pod(s) of equal or higher priority"
        + (f" and lower-priority pods the eviction rules keep: {kept}" if kept else ""),
    )


def find_pending(cluster: Cluster, key: str) -> Pod:
    pod = next((p for p in cluster.pods if p.key == key), None)
    if pod is None:
        raise ExplainError(f"pod {key} not found (give it as NAMESPACE/NAME)")
    if pod.bound:
        raise ExplainError(f"pod {key} is not Pending: it is bound to node {pod.node_name}")
    if pod.terminating:
        raise ExplainError(f"pod {key} is being deleted")
    return pod


def explain(
    cluster: Cluster,
    key: str,
    options: PlanOptions,
    *,
    started: float | None = None,
    worker: SolverWorker | None = None,
    isolate: bool = True,
) -> Explanation:
    """Explain the Pending pod ``key`` (ExplainError if it is not one) within the budget."""
    pod = find_pending(cluster, key)
    verdicts = blockers_now(cluster, pod)
    plan = make_plan(alone(cluster, pod), options, started=started, worker=worker, isolate=isolate)
    placed_on = next((b.node for b in plan.bindings if b.pod == key), None)
    held: tuple[NodeGroup, ...] = ()
    if placed_on is None:
        found = holders(cluster, pod, options.eviction_policy())
        held = _group([(h.node, _held_reasons(h)) for h in found])
    counts = reason_counts(verdicts)
    return Explanation(
        pod=pod,
        summary=_summary(verdicts, counts),
        counts=counts,
        now=_group([(v.node, v.reasons) for v in verdicts if v.reasons]),
        plan=plan,
        placed_on=placed_on,
        held=held,
    )


def _fewest_proven(plan: PackingPlan) -> bool:
    """The disruption stage proved its count (``solvers/cpsat``: stage "disruption")."""
    stages = plan.extra.get("stages", [])
    return isinstance(stages, list) and any(
        s.get("name") == "disruption" and s.get("status") == "optimal" for s in stages
    )


def _group_dict(group: NodeGroup) -> dict[str, Any]:
    return {
        "reasons": list(group.reasons),
        "nodes": list(group.nodes),
        "details": list(group.details),
    }


def to_dict(explanation: Explanation) -> dict[str, Any]:
    pod, plan = explanation.pod, explanation.plan
    unplanned = next((u.reason for u in plan.unplanned if u.pod == pod.key), None)
    return {
        "pod": pod.key,
        "priority": pod.priority,
        "priorityClassName": pod.priority_class_name,
        "summary": explanation.summary,
        "reasonCounts": dict(explanation.counts),
        "blockedNow": [_group_dict(g) for g in explanation.now],
        "placement": {
            "node": explanation.placed_on,
            "disturbed": len(plan.moves) + len(plan.evictions),
            **({"reason": unplanned} if explanation.placed_on is None and unplanned else {}),
            "heldRoom": [_group_dict(g) for g in explanation.held],
        },
        "plan": plan_to_dict(plan),
    }


def to_json(explanation: Explanation) -> str:
    return json.dumps(to_dict(explanation), indent=2)


def _group_rows(groups: Sequence[NodeGroup]) -> list[list[str]]:
    rows = []
    for group in groups:
        names = "; ".join(group.details) or ", ".join(group.nodes[:SHOWN_NODES])
        more = len(group.nodes) - min(len(group.nodes), SHOWN_NODES)
        names += f", +{more}" if more else ""
        rows.append([str(len(group.nodes)), "; ".join(group.reasons), names])
    return rows


def to_table(explanation: Explanation) -> str:
    pod, plan = explanation.pod, explanation.plan
    named = f", class {pod.priority_class_name}" if pod.priority_class_name else ""
    lines = [f"Pod {pod.key} (priority {pod.priority}{named}) is Pending: {explanation.summary}."]
    if explanation.now:
        lines += ["", *table(["NODES", "WHY NOT NOW", "E.G."], _group_rows(explanation.now))]
    status = plan.status
    proof = "proven optimal" if status.optimal else "not proven optimal"
    how = f"plan {plan.name}, {proof}, solver {status.solver}, {status.wall_seconds:.2f}s"
    lines.append("")
    if explanation.placed_on is None:
        reason = next((u.reason for u in plan.unplanned if u.pod == pod.key), "no room")
        lines.append(f"No plan places it ({how}): {reason}.")
        if explanation.held:
            rows = _group_rows(explanation.held)
            headers = ["NODES", "WHAT HOLDS THE ROOM (every pod a plan may disturb gone)", "E.G."]
            lines += ["", *table(headers, rows)]
        return "\n".join(lines)
    disturbed = len(plan.moves) + len(plan.evictions)
    lines.append(
        f"What it takes ({how}): bind it to {explanation.placed_on}"
        + (f" after disturbing {disturbed} pod(s):" if disturbed else "; nothing else changes.")
    )
    rows = [["move", m.pod, f"{m.from_node} -> {m.to_node}"] for m in plan.moves]
    rows += [["evict", e.pod, e.node] for e in plan.evictions]
    if rows:
        lines += ["  " + line for line in table(["ACTION", "POD", "NODE"], rows)]
    if disturbed and status.optimal and _fewest_proven(plan):
        lines.append("No plan that places it disturbs fewer pods (proven).")
    return "\n".join(lines)
