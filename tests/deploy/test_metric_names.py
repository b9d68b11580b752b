"""Every query the project ships (alert and recording rules, the Grafana dashboard) reads only
metrics that scheduler_ext/metrics.py exports, or recording rules the rules file defines.

The exported names come from the service's own registry (``Metrics()``), with the series names
Prometheus makes of each type (``_total`` of a counter; ``_bucket``, ``_count``, ``_sum`` of a
histogram), so a renamed or dropped metric fails here, not on an operator's dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler_ext.metrics import Metrics
from tests.deploy.promql import grafana_variable_names, metric_names

FILES = Path(__file__).resolve().parents[2] / "helm" / "scheduler-ext" / "files"
RULES = FILES / "prometheus-rules.yaml"
DASHBOARD = FILES / "grafana-dashboard.json"
#: Series Prometheus itself records for every scrape target.
SCRAPE_SERIES = frozenset({"up"})

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported_series() -> set[str]:
    series: set[str] = set()
    for family in Metrics().registry.collect():
        series.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return series


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def recorded_names() -> set[str]:
    return {
        rule["record"] for group in rule_groups() for rule in group["rules"] if "record" in rule
    }


def rule_queries() -> Iterator[tuple[str, str]]:
    for group in rule_groups():
        for rule in group["rules"]:
            yield rule.get("record") or rule["alert"], rule["expr"]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> Iterator[tuple[str, set[str]]]:
    board = dashboard()
    for panel in _panels(board["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", metric_names(target["expr"])
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            yield f"variable {variable['name']!r}", grafana_variable_names(text)


def unknown(names: set[str]) -> set[str]:
    return names - exported_series() - recorded_names() - SCRAPE_SERIES


def test_the_registry_lists_each_metric_with_its_series() -> None:
    series = exported_series()
    assert {
        "scheduler_ext_plans_total",
        "scheduler_ext_verb_duration_seconds_bucket",
        "scheduler_ext_pending_pods",
    } <= series
    assert "scheduler_ext_plans" not in series  # a counter is read as <name>_total


def test_rules_read_only_exported_metrics() -> None:
    problems = {name: unknown(metric_names(expr)) for name, expr in rule_queries()}
    assert {name: bad for name, bad in problems.items() if bad} == {}


def test_recording_rules_are_read_from_the_rules_that_record_them() -> None:
    for name, expr in rule_queries():
        if name in recorded_names():
            assert name not in metric_names(expr), f"{name} reads itself"


def test_every_dashboard_query_reads_only_exported_metrics() -> None:
    queries = dict(dashboard_queries())
    assert len(queries) >= 15
    assert all(queries.values()), [where for where, names in queries.items() if not names]
    problems = {where: unknown(names - recorded_names()) for where, names in queries.items()}
    assert {where: bad for where, bad in problems.items() if bad} == {}


def test_every_exported_metric_is_on_the_dashboard() -> None:
    read: set[str] = set().union(*(names for _, names in dashboard_queries()))
    families = {family.name for family in Metrics().registry.collect()}
    missing = {
        family for family in families if not any(series.startswith(family) for series in read)
    }
    assert missing == set(), (
        "add a panel for each to helm/scheduler-ext/files/grafana-dashboard.json"
    )


def test_dashboard_panels_are_distinct_and_use_the_datasource_variable() -> None:
    panels = list(_panels(dashboard()["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        assert all('job="scheduler-ext"' in target["expr"] for target in panel["targets"])


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (verb, le) (rate(a_b_bucket{job="x", le=~"1"}[5m]))', {"a_b_bucket"}),
        ("x:y:z > 0 and on () absent(up)", {"x:y:z", "up"}),
        ('label_replace(m, "dst", "$1", "src", "(.*)")', {"m"}),
        ("histogram_quantile(0.9, sum by (le) (rate(h_bucket[$__rate_interval])))", {"h_bucket"}),
        ("a / ignoring (outcome) group_left (x) b offset 5m", {"a", "b"}),
    ],
)
def test_metric_names_finds_the_selected_series(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_an_unknown_metric_is_caught() -> None:
    assert unknown(metric_names('rate(scheduler_ext_plan_total{job="scheduler-ext"}[5m])')) == {
        "scheduler_ext_plan_total"
    }
    assert grafana_variable_names('label_values(scheduler_ext_nope{job="x"}, instance)') == {
        "scheduler_ext_nope"
    }
