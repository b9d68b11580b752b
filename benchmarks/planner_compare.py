"""The planner benchmark against another revision's planner, side by side in one run.

A change to the model must not make the paper-grid figures worse; two runs at different times on
this shared 2-core machine differ by more than such a change does, so both revisions plan the
same instances in one run, alternating per size: each size's failing instances go to one
revision's planner worker and then the other's, the first of the two swapping from size to size,
so that load falls on both alike (a worker start imports OR-Tools, which took 45 s on the loaded
machine of the run in docs/benchmarks.md, so cells are not smaller). Instances are generated
once, here (``planner_instances``), and handed to both workers pickled: the other checkout must
have the same domain classes (``scheduler_ext/domain.py``) and the same worker protocol. Both
plans are judged by this tree's independent checker. The other checkout runs with its own
``.venv/bin/python`` (``source hack/venv.sh`` there once) and must import its own
``scheduler_ext``. Run from the repository root::

    python -m benchmarks.planner_compare --baseline ../wt-prev --first-seed 1000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.planner import parse_sizes
from benchmarks.planner_instances import PAPER, Instance, Size, instances_for
from benchmarks.planner_report import HEADER, table_row
from benchmarks.planner_running import ROOT, Outcome, judge, run_planner

THIS, OTHER = "this", "previous"


def _python(checkout: Path) -> str:
    """The checkout's own interpreter, after checking it imports the checkout's package."""
    venv = checkout / ".venv" / "bin" / "python"
    python = str(venv) if venv.exists() else sys.executable
    found = subprocess.run(
        [python, "-c", "import scheduler_ext; print(scheduler_ext.__file__)"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(checkout.resolve()):
        raise SystemExit(f"{python} in {checkout} imports scheduler_ext from {found or 'nowhere'}")
    return python


def _plan(cell: Sequence[Instance], checkout: Path, python: str, budget: float) -> list[Outcome]:
    lines, _ = run_planner(cell, budget, isolate=True, checkout=checkout, python=python)
    by_id = {line["id"]: line for line in lines}
    missing = {"wall": 0.0, "error": "no result from the worker"}
    return [judge(i, by_id.get(i.ident, missing)) for i in cell]


def _objective(o: Outcome) -> tuple[int, ...]:
    return (*o.after, -o.disturbed, -o.evictions) if not o.error else ()


def _paired(this: Sequence[Outcome], other: Sequence[Outcome]) -> str:
    pairs = list(zip(this, other, strict=True))
    better = sum(_objective(a) > _objective(b) for a, b in pairs)
    worse = sum(_objective(a) < _objective(b) for a, b in pairs)
    return f"{better} better, {len(pairs) - better - worse} equal, {worse} worse"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--sizes", type=parse_sizes, default=PAPER, help="groups or sizes")
    parser.add_argument("--seeds", type=int, default=12, help="instances per combination")
    parser.add_argument("--first-seed", type=int, default=1000, help="the first seed")
    parser.add_argument("--time-limit", type=float, default=1.0, help="planner budget (s)")
    parser.add_argument(
        "--baseline-first", action="store_true", help="the baseline plans the first size first"
    )
    args = parser.parse_args(argv)
    checkouts = {THIS: (ROOT, _python(ROOT)), OTHER: (args.baseline, _python(args.baseline))}
    results: dict[str, dict[str, list[Outcome]]] = {THIS: {}, OTHER: {}}
    counts: dict[str, tuple[int, int]] = {}
    """Per size: instances, and those with K = 4."""
    flip: bool = args.baseline_first
    sizes: list[Size] = args.sizes
    for size in sizes:
        begun = time.monotonic()
        budget = size.time_limit or args.time_limit
        instances = instances_for(size, args.seeds, False, args.first_seed)
        counts[size.name] = (len(instances), sum(i.priorities == 4 for i in instances))
        for name in (THIS, OTHER):
            results[name][size.name] = []
        failing = [i for i in instances if i.failing]
        order = (OTHER, THIS) if flip else (THIS, OTHER)
        flip = not flip
        for name in order:
            checkout, python = checkouts[name]
            results[name][size.name] = _plan(failing, checkout, python, budget)
        print(
            f"[{size.name}] {len(results[THIS][size.name])} failing instances, both revisions, "
            f"{time.monotonic() - begun:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    _print(sizes, counts, results, args.time_limit)
    return 0


def _print(
    sizes: Sequence[Size],
    counts: dict[str, tuple[int, int]],
    results: dict[str, dict[str, list[Outcome]]],
    time_limit: float,
) -> None:
    print()
    print(HEADER.replace("| size |", "| size, revision |", 1))
    for size in sizes:
        budget = size.time_limit or time_limit
        for name in (OTHER, THIS):
            outcomes = results[name][size.name]
            label = f"{size.name} {name}"
            print(table_row(label, budget, counts[size.name][0], outcomes, 0.0))
    for name in (OTHER, THIS):
        pooled = [o for size in sizes for o in results[name][size.name]]
        k4 = [o for o in pooled if o.instance.priorities == 4]
        total, total_k4 = (sum(c[i] for c in counts.values()) for i in (0, 1))
        print(table_row(f"all sizes {name}", time_limit, total, pooled, 0.0))
        print(table_row(f"K=4 pooled {name}", time_limit, total_k4, k4, 0.0))
    print()
    print("Per instance, this revision's plan vs the previous one's (placed pods by priority, then")
    print("fewer disturbed, then fewer evicted):")
    for size in sizes:
        pair = _paired(results[THIS][size.name], results[OTHER][size.name])
        walls = [
            statistics.median([o.wall for o in results[n][size.name]] or [0.0])
            for n in (OTHER, THIS)
        ]
        print(f"- {size.name}: {pair}; median wall {walls[0]:.2f} s vs {walls[1]:.2f} s")
    everything = [o for s in sizes for o in results[THIS][s.name]]
    theirs = [o for s in sizes for o in results[OTHER][s.name]]
    print(f"- all: {_paired(everything, theirs)}")
    for name, outcomes in ((OTHER, theirs), (THIS, everything)):
        for o in [o for o in outcomes if o.error][:10]:
            print(f"- ERROR ({name}) {o.instance.ident}: {o.error[:300]}")


if __name__ == "__main__":
    raise SystemExit(main())
