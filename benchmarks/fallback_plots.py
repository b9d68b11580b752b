"""Plots of ``benchmarks.fallback --json`` rows: where each solver wins, its time and memory.

Three PNGs in ``--out`` (docs/img by default):

- ``fallback-short.png``: per fragmented cluster and budget, pods each solver placed short of the
  best row (over every tier; 0 = the best placed counts), one bar per solver;
- ``fallback-wall.png``: wall time over budget, per solver, every row (1.0 = on budget);
- ``fallback-memory.png``: peak memory over the parent's (the row's ``base``), per solver.

The paper grid's rows count how often each solver reached the best placed counts.

    python -m benchmarks.fallback_plots /tmp/fallback.jsonl [--out docs/img]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _short(row: dict[str, Any]) -> int:
    return sum(int(part.split(":")[1]) for part in row["short"].split(",") if part)


def _solvers(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(row["solver"] for row in rows))


def _short_plot(rows: list[dict[str, Any]], out: Path) -> None:
    fragmented = [r for r in rows if r["instance"].startswith("fragmented")]
    groups = list(dict.fromkeys((r["instance"], r["budget"]) for r in fragmented))
    solvers = _solvers(fragmented)
    width = 0.8 / max(1, len(solvers))
    figure, axes = plt.subplots(figsize=(11, 4.5))
    for i, solver in enumerate(solvers):
        values = []
        for instance, budget in groups:
            found = [
                r
                for r in fragmented
                if (r["instance"], r["budget"], r["solver"]) == (instance, budget, solver)
            ]
            values.append(_short(found[0]) if found else 0)
        axes.bar([g + i * width for g in range(len(groups))], values, width, label=solver)
    axes.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
    axes.set_xticklabels([f"{i.split('-')[1]} nodes\n{b:.0f} s" for i, b in groups])
    axes.set_ylabel("pods placed short of the best row")
    axes.set_title("Fragmented clusters: pods short of the best placement found (lower is better)")
    axes.legend(ncol=3, fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "fallback-short.png", dpi=110)
    plt.close(figure)


def _scatter(rows: list[dict[str, Any]], out: Path, name: str, value: str, label: str) -> None:
    solvers = _solvers(rows)
    figure, axes = plt.subplots(figsize=(9, 4))
    for i, solver in enumerate(solvers):
        mine = [r for r in rows if r["solver"] == solver]
        if value == "wall":
            ys = [r["wall"] / r["budget"] for r in mine]
        else:
            ys = [r["peak_mb"] - r["base_mb"] for r in mine]
        axes.scatter([i] * len(ys), ys, alpha=0.6, s=18)
    axes.set_xticks(range(len(solvers)))
    axes.set_xticklabels(solvers, rotation=20)
    if value == "wall":
        axes.axhline(1.0, color="grey", linewidth=0.8)
    axes.set_ylabel(label)
    figure.tight_layout()
    figure.savefig(out / name, dpi=110)
    plt.close(figure)


def paper_wins(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per solver on the paper grid: (instances at the best placed counts, instances)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if not row["instance"].startswith("fragmented"):
            counts[row["solver"]][0] += not row["short"]
            counts[row["solver"]][1] += 1
    return {solver: (won, total) for solver, (won, total) in counts.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fallback_plots")
    parser.add_argument("rows", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    _short_plot(rows, args.out)
    _scatter(rows, args.out, "fallback-wall.png", "wall", "wall time / budget")
    _scatter(rows, args.out, "fallback-memory.png", "memory", "peak MB over the parent's")
    for solver, (won, total) in paper_wins(rows).items():
        print(f"paper grid: {solver:17} best placed counts in {won}/{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
