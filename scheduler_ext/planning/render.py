"""The plan as operators and programs read it: a PackingPlan object (JSON, YAML) or a table.

The dictionary is the resource the service will store as ``scheduler-ext.io/v1alpha1
PackingPlan``; its field names are part of the command line contract.
"""

from __future__ import annotations

import json
from typing import Any

from scheduler_ext.domain import PackingPlan, TierCount

API_VERSION = "scheduler-ext.io/v1alpha1"
KIND = "PackingPlan"


def plan_to_dict(plan: PackingPlan) -> dict[str, Any]:
    status = plan.status
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": plan.name},
        "spec": {
            "bindings": [{"pod": b.pod, "node": b.node} for b in plan.bindings],
            "moves": [
                {"pod": m.pod, "fromNode": m.from_node, "toNode": m.to_node} for m in plan.moves
            ],
            "evictions": [{"pod": e.pod, "node": e.node} for e in plan.evictions],
            "unplanned": [{"pod": u.pod, "reason": u.reason} for u in plan.unplanned],
        },
        "status": {
            "optimal": status.optimal,
            "improves": status.improves,
            "solver": status.solver,
            "wallSeconds": round(status.wall_seconds, 3),
            "placedByPriority": [
                {"priority": t.priority, "before": t.before, "after": t.after}
                for t in status.placed_by_priority
            ],
            "message": status.message,
            **({"diagnostics": dict(plan.extra)} if plan.extra else {}),
        },
    }


def to_json(plan: PackingPlan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2)


def to_yaml(plan: PackingPlan) -> str:
    import yaml

    return str(yaml.safe_dump(plan_to_dict(plan), sort_keys=False))


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]


def _priority(tier: TierCount) -> str:
    names = ",".join(tier.class_names)
    return f"{tier.priority} ({names})" if names else str(tier.priority)


def to_table(plan: PackingPlan) -> str:
    status = plan.status
    lines = table(
        ["PRIORITY", "BEFORE", "AFTER", "GAINED"],
        [
            [_priority(t), str(t.before), str(t.after), f"{t.after - t.before:+d}"]
            for t in status.placed_by_priority
        ],
    )
    sections: list[tuple[str, list[str], list[list[str]]]] = [
        ("Moves", ["POD", "FROM", "TO"], [[m.pod, m.from_node, m.to_node] for m in plan.moves]),
        ("Evictions", ["POD", "NODE"], [[e.pod, e.node] for e in plan.evictions]),
        ("Bindings", ["POD", "NODE"], [[b.pod, b.node] for b in plan.bindings]),
        ("Unplanned", ["POD", "REASON"], [[u.pod, u.reason] for u in plan.unplanned]),
    ]
    for title, headers, rows in sections:
        lines.append("")
        lines.append(f"{title} ({len(rows)})")
        if rows:
            lines.extend("  " + line for line in table(headers, rows))
    proof = "proven optimal" if status.optimal else "not proven optimal"
    verdict = "improves the placement" if status.improves else "no improvement"
    lines.append("")
    lines.append(
        f"Plan {plan.name}: {verdict}, {proof} (solver {status.solver}, {status.wall_seconds:.2f}s)"
    )
    if status.message:
        lines.append(status.message)
    return "\n".join(lines)
