"""The shipped Grafana dashboard evaluated against a real Prometheus, and drawn as a PNG.

``python -m testkit.dashboard docs/img/dashboard.png`` runs the README's demo (``testkit.demo``:
kube-scheduler, the service in enforce mode, a plan executed) while a real Prometheus
(``testkit.prometheus``) scrapes the service's admin port with the shipped rules loaded, then
evaluates every panel's queries over the run (``query_range``) and draws each panel from that data.
tests/e2e/test_prometheus.py runs the same steps and checks the answers.

Grafana's variables become what Grafana would send: ``$instance`` its "All" value (``.*``),
``$__rate_interval`` a fixed ``RATE_INTERVAL`` (four scrape intervals or more, as Grafana's is).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit import builders, demo
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube
from testkit.prometheus import PrometheusProcess, finite_values
from testkit.service import REPO, ServiceProcess
from testkit.wait import wait_for

FILES = REPO / "helm" / "scheduler-ext" / "files"
DASHBOARD = FILES / "grafana-dashboard.json"
RULES = FILES / "prometheus-rules.yaml"
RATE_INTERVAL = "30s"
STEP_SECONDS = 2.0
COLUMNS = 4
OUTCOMES = ("improves", "no_improvement", "failed")


@dataclass(frozen=True)
class Target:
    panel: str
    kind: str
    ref: str
    expr: str
    legend: str

    @property
    def where(self) -> str:
        return f"panel {self.panel!r} {self.ref}"


def _panels(panels: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def grafana(expr: str, instance: str = ".*") -> str:
    """``expr`` as Grafana sends it to Prometheus, with the dashboard's variables filled in."""
    return (
        expr.replace("$__rate_interval", RATE_INTERVAL)
        .replace("${instance}", instance)
        .replace("$instance", instance)
    )


def targets(path: Path = DASHBOARD) -> list[Target]:
    board = json.loads(path.read_text())
    return [
        Target(
            panel["title"],
            panel["type"],
            target["refId"],
            grafana(target["expr"]),
            target.get("legendFormat", ""),
        )
        for panel in _panels(board["panels"])
        if panel["type"] != "row"
        for target in panel.get("targets", [])
    ]


def variable_selectors(path: Path = DASHBOARD) -> dict[str, str]:
    """The series selector of each ``label_values(selector, label)`` variable."""
    board = json.loads(path.read_text())
    found = {}
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            found[variable["name"]] = text.removeprefix("label_values(").rsplit(",", 1)[0]
    return found


Results = dict[Target, list[dict[str, Any]]]


def evaluate(prometheus: PrometheusProcess, start: float, end: float) -> Results:
    return {t: prometheus.query_range(t.expr, start, end, STEP_SECONDS) for t in targets()}


def _rounds(service: ServiceProcess) -> float:
    return sum(service.metric("scheduler_ext_plans_total", outcome=o) for o in OUTCOMES)


def _one_more_round(cluster: KwokCluster, service: ServiceProcess) -> None:
    """A late batch-priority pod no plan can place (it may disturb no pod of its priority or
    above, and no node has its 2 cores free): a second planning round, no improvement. rate()
    needs two samples of a series, and labelled series are born at their first observation."""
    before = _rounds(service)
    with Kube(cluster.api_client()) as kube:
        late = builders.pod(
            "late",
            namespace=demo.NAMESPACE,
            requests={"cpu": "2", "memory": "1Gi"},
            priority_class_name="batch",
        )
        kube.create(late)
    wait_for(
        lambda: _rounds(service),
        lambda rounds: rounds > before,
        description="a planning round for the late pod",
        timeout=120,
    )


def scraped_demo(
    workdir: Path, then: Callable[[PrometheusProcess, ServiceProcess, float], None]
) -> None:
    """The demo in enforce mode, scraped from its start, then one more planning round;
    ``then(prometheus, service, started)`` runs once those metrics have been scraped and the
    rules evaluated."""
    admin = free_port()
    (workdir / "demo").mkdir(parents=True, exist_ok=True)
    with PrometheusProcess(workdir / "prometheus", f"127.0.0.1:{admin}", [RULES]) as prometheus:
        started = time.time()

        def settled(cluster: KwokCluster, service: ServiceProcess) -> None:
            _one_more_round(cluster, service)
            completed = 'scheduler_ext_plan_outcomes_total{job="scheduler-ext",outcome="completed"}'
            wait_for(
                lambda: finite_values(prometheus.query(completed)),
                lambda values: bool(values) and values[0] >= 1,
                description="the completed plan scraped",
                timeout=60,
            )
            time.sleep(8 * STEP_SECONDS)  # a few more scrapes and rule evaluations
            then(prometheus, service, started)

        if demo.run("enforce", workdir / "demo", admin_port=admin, then=settled) != 0:
            raise AssertionError("the demo failed")


_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _legend(fmt: str, labels: dict[str, str]) -> str:
    """Grafana's legend format: ``{{label}}`` becomes the label's value (empty when absent)."""
    text = _LEGEND_LABEL.sub(lambda m: labels.get(m.group(1), ""), fmt).strip()
    return text or ",".join(f"{k}={v}" for k, v in labels.items() if k != "__name__")


def plot(results: Results, out: Path, started: float, title: str = "") -> None:
    """One small chart per panel (stat panels: the last value), in the dashboard's order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: dict[str, list[Target]] = {}
    for target in results:
        panels.setdefault(target.panel, []).append(target)
    times = [float(t) for series in results.values() for s in series for t, _ in s["values"]]
    span = (min(times) - started, max(times) - started) if times else (0.0, 1.0)
    rows = -(-len(panels) // COLUMNS)
    figure, axes = plt.subplots(rows, COLUMNS, figsize=(4.2 * COLUMNS, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (name, members) in zip(axes.flat, panels.items(), strict=False):
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        if members[0].kind == "stat":
            values = [finite_values([s]) for t in members for s in results[t]]
            last = [v[-1] for v in values if v]
            ax.axis("off")
            text = f"{sum(last):.3g}" if last else "No data"
            ax.text(0.5, 0.4, text, ha="center", va="center", fontsize=26)
            continue
        drawn = False
        for target in members:
            for series in results[target]:
                xs = [float(t) - started for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                label = _legend(target.legend, series["metric"])
                ax.plot(xs, ys, label=label, linewidth=1.2, marker=".", markersize=3)
                drawn = True
        ax.set_xlim(*span)
        if drawn:
            ax.legend(fontsize=6, loc="upper left")
        else:
            ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("seconds since Prometheus started", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=12)
    figure.tight_layout(rect=(0, 0, 1, 0.98))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.dashboard", description=__doc__)
    parser.add_argument("out", type=Path, help="the PNG to write, e.g. docs/img/dashboard.png")
    args = parser.parse_args(argv)

    def draw(prometheus: PrometheusProcess, _: ServiceProcess, started: float) -> None:
        results = evaluate(prometheus, started, time.time())
        plot(results, args.out, started, "scheduler-ext dashboard, testkit.demo run")
        sys.stderr.write(f"wrote {args.out}\n")

    with tempfile.TemporaryDirectory(prefix="scheduler-ext-dashboard-") as workdir:
        scraped_demo(Path(workdir), draw)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
