"""PNG plots for ``benchmarks.e2e_paper report --plots DIR``: the share of calls where the plan
beats kube-scheduler or proves it optimal, by cluster size and budget; and planning wall time."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Row = Mapping[str, Any]


def write_plots(rows: Sequence[Row], directory: Path, classify: Callable[[Row], str]) -> list[str]:
    """Write the plots; the Markdown lines that show them."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    calls = [r for r in rows if classify(r) != "no call"]
    sizes = sorted({r["nodes"] * r["ppn"] for r in calls})
    budgets = sorted({float(r["budget"]) for r in calls})
    share: dict[float, dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    walls: dict[float, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in calls:
        pods = r["nodes"] * r["ppn"]
        share[float(r["budget"])][pods].append(classify(r) != "failure")
        walls[float(r["budget"])][pods].append(float(r["plan_wall"]))

    figure, axes = plt.subplots(figsize=(6, 4))
    for b in budgets:
        xs = [s for s in sizes if share[b][s]]
        ys = [100 * sum(share[b][s]) / len(share[b][s]) for s in xs]
        axes.plot(xs, ys, marker="o", label=f"{b:g} s")
    axes.set_ylim(0, 105)
    success = _saved(figure, axes, "better or proven optimal (% of calls)", directory, "success")

    figure, axes = plt.subplots(figsize=(6, 4))
    for b in budgets:
        xs = [s for s in sizes if walls[b][s]]
        medians = [statistics.median(walls[b][s]) for s in xs]
        axes.plot(xs, medians, marker="o", label=f"{b:g} s budget")
    timing = _saved(figure, axes, "planning wall time, median (s)", directory, "time")
    execution = _execution_plot(rows, directory)
    return [
        f"![success by size]({success.name})",
        f"![planning time]({timing.name})",
        *([f"![trigger to running]({execution.name})"] if execution else []),
    ]


def _execution_plot(rows: Sequence[Row], directory: Path) -> Path | None:
    """Seconds from the trigger until every planned pod runs, per plan carried out."""
    import matplotlib.pyplot as plt

    done = [r for r in rows if r.get("seconds_to_running") is not None]
    if not done:
        return None
    figure, axes = plt.subplots(figsize=(6, 4))
    for b in sorted({float(r["budget"]) for r in done}):
        mine = [r for r in done if float(r["budget"]) == b]
        axes.scatter(
            [r["nodes"] * r["ppn"] for r in mine],
            [r["seconds_to_running"] for r in mine],
            label=f"{b:g} s budget",
            alpha=0.7,
        )
    return _saved(figure, axes, "trigger to every planned pod Running (s)", directory, "execution")


def _saved(figure: Any, axes: Any, ylabel: str, directory: Path, name: str) -> Path:
    """Label and save one plot (pods on a log-2 axis), as ``e2e-paper-<name>.png``."""
    import matplotlib.pyplot as plt

    axes.set(xlabel="pods in the cluster", ylabel=ylabel)
    axes.set_xscale("log", base=2)
    axes.legend()
    path = directory / f"e2e-paper-{name}.png"
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path
