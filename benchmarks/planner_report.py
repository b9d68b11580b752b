"""The planner benchmark's tables, as docs/benchmarks.md quotes them.

One row per size and a pooled row for the paper's K = 4 instances (the paper's headline), in
Markdown so that a run can be pasted into the docs as it is printed; then the errors and contract
warnings, and the command-line timings. Percentages are of failing instances only: where the
baseline leaves nothing Pending there is nothing to improve.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.planner_instances import Size
from benchmarks.planner_running import CliTiming, Outcome


@dataclass
class SizeReport:
    size: Size
    time_limit: float
    instances: int = 0
    k4_instances: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    seconds: float = 0.0


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _gained(outcomes: Sequence[Outcome]) -> str:
    total: Counter[int] = Counter()
    for o in outcomes:
        total.update(o.gained)
    if not total:
        return "-"
    return " ".join(f"{p}:{total[p]:+d}" for p in sorted(total, reverse=True))


def table_row(
    label: str, time_limit: float, count: int, outcomes: list[Outcome], rss: float
) -> str:
    planned = [o for o in outcomes if not o.error]
    walls = [o.wall for o in outcomes]
    optimal = sum(o.optimal for o in planned)
    better = sum(o.improves for o in planned)
    either = sum(o.improves or o.optimal for o in planned)
    certified = sum(o.optimal and not o.improves for o in planned)
    errors = len(outcomes) - len(planned)
    cells = [
        label,
        f"{time_limit:g}",
        str(count),
        str(len(outcomes)),
        f"{statistics.median(walls):.2f}" if walls else "-",
        f"{max(walls):.2f}" if walls else "-",
        _pct(optimal, len(outcomes)),
        _pct(better, len(outcomes)),
        _pct(either, len(outcomes)),
        _pct(certified, len(outcomes)),
        _gained(planned),
        f"{sum(o.disturbed for o in planned)}/{sum(o.evictions for o in planned)}",
        f"{rss:.0f}",
        str(errors),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| size | budget (s) | instances | failing | median wall (s) | max wall (s) "
    "| proven optimal | better than baseline | better or proven optimal "
    "| baseline certified optimal | pods gained by priority | disturbed/evicted "
    "| peak RSS (MB) | errors |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def print_report(reports: Sequence[SizeReport], cli: Sequence[CliTiming]) -> None:
    print()
    print(HEADER)
    for r in reports:
        print(table_row(r.size.name, r.time_limit, r.instances, r.outcomes, r.peak_rss_mb))
    paper_k4 = [
        o
        for r in reports
        if r.size.kind == "paper"
        for o in r.outcomes
        if o.instance.priorities == 4
    ]
    if paper_k4 and len({r.size.name for r in reports if r.size.kind == "paper"}) > 1:
        count = sum(r.k4_instances for r in reports if r.size.kind == "paper")
        budget = next(r.time_limit for r in reports if r.size.kind == "paper")
        print(table_row("paper workload, K=4 pooled", budget, count, paper_k4, 0.0))
    print()
    print("Percentages are of failing instances (the baseline left pods Pending). Gains are summed")
    print(
        "placed pods per priority (highest first) vs the baseline; disturbed = moves + evictions."
    )
    errors = [o for r in reports for o in r.outcomes if o.error]
    for o in errors[:10]:
        print(f"- ERROR {o.instance.ident}: {o.error[:300]}")
    warnings = Counter(o.warning for r in reports for o in r.outcomes if o.warning)
    for text, n in warnings.items():
        print(f"- WARNING ({n} plans): {text}")
    if cli:
        print()
        print(
            "| CLI instance | pods | budget (s) | process wall (s) | status.wallSeconds "
            "| peak RSS (MB) | plan |"
        )
        print("|---|---|---|---|---|---|---|")
        for t in cli:
            print(
                f"| {t.instance} | {t.pods} | {t.time_limit:g} | {t.process_wall:.2f} "
                f"| {t.reported_wall:.2f} | {t.peak_rss_mb:.0f} | {t.verdict} |"
            )
        within = sum(t.process_wall <= t.time_limit + 0.2 for t in cli)
        good = sum("improves" in t.verdict or "optimal" in t.verdict for t in cli)
        print()
        print(
            f"CLI: process wall within budget + 0.2 s in {within} of {len(cli)}; better than "
            f"the baseline or proven optimal in {good} of {len(cli)}"
        )
