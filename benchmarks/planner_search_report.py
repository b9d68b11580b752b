"""The reference mode's table: per size and checkout, how close the plans get and at what churn.

- **= reference**: the plan places, lexicographically by priority, at least what the long
  reference run placed (more is possible where the reference is not proven).
- **pod gap per tier**: reference minus plan, summed over the instances, per priority (highest
  first); a gap at a higher priority is the worse miss.
- **disturbed / gained**: per improving plan, running pods moved or evicted per pod gained;
  median and maximum.
- **churn over bound**: where the plan equals a reference whose disruption count is proven
  minimal for that placement, plans disturbing more than that minimum, and the pods too many.
- **early, unproven**: plans back more than 0.15 s before the budget without a proof; per stage
  (where the plan reports each stage's time limit), stages ended 0.05 s before their limit with
  neither a proof nor a gain.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EARLY_PLAN_SECONDS = 0.15
EARLY_STAGE_SECONDS = 0.05


@dataclass
class Row:
    size: str
    budget: float
    side: str
    records: list[dict[str, Any]]


def _vector(placed: dict[int, int], priorities: Sequence[int]) -> tuple[int, ...]:
    return tuple(placed.get(p, 0) for p in priorities)


def _priorities(record: dict[str, Any]) -> list[int]:
    ref = record["reference"] or {"placed": {}}
    return sorted(set(record["placed"]) | set(ref["placed"]), reverse=True)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _gaps(records: Sequence[dict[str, Any]]) -> str:
    total: dict[int, int] = {}
    for r in records:
        for p in _priorities(r):
            total[p] = total.get(p, 0) + r["reference"]["placed"].get(p, 0) - r["placed"].get(p, 0)
    return " ".join(f"{p}:{total[p]:+d}" for p in sorted(total, reverse=True)) or "-"


def _churn(records: Sequence[dict[str, Any]]) -> str:
    ratios = []
    for r in records:
        gained = sum(r["gained"].values())
        if r["improves"] and gained > 0:
            ratios.append(r["disturbed"] / gained)
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f} / {max(ratios):.1f}"


def _over_bound(records: Sequence[dict[str, Any]]) -> str:
    over = extra = judged = 0
    for r in records:
        ref = r["reference"]
        priorities = _priorities(r)
        if not ref["disturbed_proven"]:
            continue
        if _vector(r["placed"], priorities) != _vector(ref["placed"], priorities):
            continue
        judged += 1
        if r["disturbed"] > ref["disturbed"]:
            over += 1
            extra += r["disturbed"] - ref["disturbed"]
    return f"{over}/{judged} (+{extra})" if judged else "-"


def _early_stages(records: Sequence[dict[str, Any]]) -> str:
    limited = [s for r in records for s in r["stages"] if s.get("limitSeconds") is not None]
    early = [
        s
        for s in limited
        if s["status"] != "optimal"
        and not s.get("improved", False)
        and s["seconds"] < s["limitSeconds"] - EARLY_STAGE_SECONDS
    ]
    return f"{_pct(len(early), len(limited))} of {len(limited)}" if limited else "-"


def _cells(row: Row) -> list[str]:
    done = [r for r in row.records if not r["error"]]
    judged = [r for r in done if r["reference"] is not None]
    equal = sum(
        _vector(r["placed"], _priorities(r)) >= _vector(r["reference"]["placed"], _priorities(r))
        for r in judged
    )
    early = sum(not r["optimal"] and r["wall"] < r["budget"] - EARLY_PLAN_SECONDS for r in done)
    walls = [r["wall"] for r in row.records]
    return [
        row.size,
        f"{row.budget:g}",
        row.side,
        str(len(row.records)),
        _pct(sum(r["improves"] or r["optimal"] for r in done), len(row.records)),
        _pct(sum(r["optimal"] for r in done), len(row.records)),
        _pct(equal, len(judged)),
        _pct(sum(r["reference"]["proven"] for r in judged), len(judged)),
        _gaps(judged),
        _churn(done),
        _over_bound(judged),
        _pct(early, len(done)),
        _early_stages(done),
        f"{statistics.median(walls):.2f} / {max(walls):.2f}" if walls else "-",
        str(len(row.records) - len(done)),
    ]


HEADER = (
    "| size | budget (s) | checkout | failing | better or proven | proven | = reference "
    "| reference proven | pod gap per tier | disturbed / gained (median / max) "
    "| churn over bound | early, unproven plans | early stages | wall median / max (s) "
    "| errors |\n|" + "---|" * 15
)


CHURN_TARGET = 5.0
"""Issue 15: no plan above this many disturbed pods per pod gained."""


def print_pooled(rows: Sequence[Row]) -> None:
    """Per checkout over every size: better or proven, and churn per pod gained (median, plans
    above ``CHURN_TARGET``)."""
    print()
    print(
        "| checkout | plans | better or proven | disturbed / gained median / max "
        "| plans above 5 | wall median / max (s) |\n|---|---|---|---|---|---|"
    )
    for side in dict.fromkeys(row.side for row in rows):
        records = [r for row in rows if row.side == side for r in row.records]
        done = [r for r in records if not r["error"]]
        ratios = [
            r["disturbed"] / sum(r["gained"].values())
            for r in done
            if r["improves"] and sum(r["gained"].values()) > 0
        ]
        walls = [r["wall"] for r in records]
        good = sum(r["improves"] or r["optimal"] for r in done)
        churn = f"{statistics.median(ratios):.2f} / {max(ratios):.1f}" if ratios else "-"
        above = sum(x > CHURN_TARGET for x in ratios)
        wall = f"{statistics.median(walls):.2f} / {max(walls):.2f}" if walls else "-"
        print(
            f"| {side} | {len(records)} | {good} of {len(records)} | {churn} "
            f"| {above} of {len(ratios)} | {wall} |"
        )


def print_rows(rows: Sequence[Row]) -> None:
    print()
    print(HEADER)
    for row in rows:
        print("| " + " | ".join(_cells(row)) + " |")
    print_pooled(rows)
    errors = [(row.side, r) for row in rows for r in row.records if r["error"]]
    for side, r in errors[:10]:
        print(f"- ERROR {side} {r['id']}: {r['error'][:300]}")
