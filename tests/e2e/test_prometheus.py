"""A real Prometheus scrapes the service while the harness's kube-scheduler drives the verbs and a
plan is executed (``testkit.demo``); then every dashboard query and every rule expression is
evaluated through Prometheus's HTTP API (``testkit.dashboard``).

What may be empty, and why (everything else must have returned finite data during the run):
- the panels of things that did not go wrong: verb errors, watch restarts, planning failures;
- every alert expression at the end of the run: nothing is wrong then, except that the verb latency
  one measures this machine (a bind's p99 near 1 s was seen at a load of 23 on 2 cores), so it may
  hold; and when kube-scheduler's bind of the planned pod raced the plan's own binding and was
  refused ("already bound", seen in some runs), the bind alerts must hold (BindsFailing) or may
  (VerbErrors: a ratio over a few calls). No alert fires at any time (each needs its ``for:``,
  minutes, to fire); SchedulerExtDown is pending while Prometheus scrapes a service that has not
  started yet (the whole rule pipeline, from a scrape to an ALERTS series, seen working).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit.dashboard import RULES, Target, evaluate, plot, scraped_demo, variable_selectors
from testkit.prometheus import PrometheusProcess, finite_values
from testkit.service import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAY_BE_EMPTY = frozenset({"Verb errors", "Watch restarts by kind", "Planning failures (1h)"})
"""Panels counting what goes wrong: no data when nothing did."""
MACHINE_BOUND = frozenset({"SchedulerExtVerbLatencyHigh"})
"""Alerts whose expression depends on the machine's load, not on the service's health."""
BIND_ALERTS = frozenset({"SchedulerExtBindsFailing", "SchedulerExtVerbErrors"})
"""Alerts a refused bind (counted in the run) makes hold."""


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Everything the test asks of Prometheus, asked while the service and cluster still live."""
    workdir = tmp_path_factory.mktemp("prometheus")
    seen: dict[str, Any] = {}

    def ask(prometheus: PrometheusProcess, _: ServiceProcess, started: float) -> None:
        end = time.time()
        seen["dashboard"] = evaluate(prometheus, started, end)
        seen["variables"] = {
            name: prometheus.api("series", **{"match[]": selector})
            for name, selector in variable_selectors().items()
        }
        seen["rules"] = prometheus.rules()
        seen["recorded"] = {
            rule["record"]: prometheus.query_range(rule["record"], started, end)
            for rule in _rules()
            if "record" in rule
        }
        seen["expr"] = {
            rule.get("record") or rule["alert"]: prometheus.query_range(rule["expr"], started, end)
            for rule in _rules()
        }
        seen["alerts_now"] = {
            rule["alert"]: prometheus.query(rule["expr"]) for rule in _rules() if "alert" in rule
        }
        seen["alerts"] = prometheus.query_range("ALERTS", started, end)
        refused = 'sum(scheduler_ext_binds_total{job="scheduler-ext", result!="ok"})'
        seen["binds_refused"] = sum(finite_values(prometheus.query(refused)))
        seen["png"] = workdir / "dashboard.png"
        plot(seen["dashboard"], seen["png"], started, "test_prometheus")

    scraped_demo(workdir, ask)
    return seen


def test_prometheus_loaded_every_shipped_rule_and_evaluates_it_without_error(
    run: dict[str, Any],
) -> None:
    loaded = {rule["name"]: rule for rule in run["rules"]}
    assert set(loaded) == {rule.get("record") or rule["alert"] for rule in _rules()}
    assert {name: rule["health"] for name, rule in loaded.items() if rule["health"] != "ok"} == {}


def test_every_dashboard_query_returns_data_but_for_what_did_not_go_wrong(
    run: dict[str, Any],
) -> None:
    results: dict[Target, list[dict[str, Any]]] = run["dashboard"]
    assert len(results) >= 25
    empty = {target.where for target, series in results.items() if not finite_values(series)}
    allowed = {target.where for target in results if target.panel in MAY_BE_EMPTY}
    assert empty <= allowed
    assert all(run["variables"].values()), run["variables"]


def test_the_dashboard_shows_the_executed_plan(run: dict[str, Any]) -> None:
    by_panel = {target.panel: series for target, series in run["dashboard"].items()}

    def labels(panel: str, key: str) -> set[str]:
        return {s["metric"].get(key, "") for s in by_panel[panel] if finite_values([s])}

    assert "completed" in labels("Executed plans by outcome", "outcome")
    assert "evicted" in labels("Evictions by result", "result")
    assert "landed" in labels("Moves by result", "result")
    assert {"filter", "bind"} <= labels("Verb calls", "verb")
    assert "1000" in labels("Pending pods by priority", "priority")  # the api pod
    assert run["png"].stat().st_size > 10_000


def test_every_recording_rule_produces_series(run: dict[str, Any]) -> None:
    for name, series in run["recorded"].items():
        assert finite_values(series), name
        assert finite_values(run["expr"][name]), name


def test_no_alert_fires_and_the_down_alert_was_pending_before_the_service_started(
    run: dict[str, Any],
) -> None:
    holding = {name: series for name, series in run["alerts_now"].items() if series}
    if run["binds_refused"]:
        assert "SchedulerExtBindsFailing" in holding
        assert set(holding) <= MACHINE_BOUND | BIND_ALERTS, holding
    else:
        assert set(holding) <= MACHINE_BOUND, holding
    states = {(s["metric"]["alertname"], s["metric"]["alertstate"]) for s in run["alerts"]}
    assert {state for state in states if state[1] == "firing"} == set()
    assert ("SchedulerExtDown", "pending") in states
    assert finite_values(run["expr"]["SchedulerExtDown"])  # up == 0 before the service listened


def test_the_dashboard_picture_is_drawn_from_the_run(run: dict[str, Any]) -> None:
    png: Path = run["png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
