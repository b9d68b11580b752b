"""The metric names a PromQL expression reads, found without a PromQL parser.

Good enough for the expressions this project ships (rules and dashboard): string literals, label
matchers (``{...}``), label lists after ``by``/``without``/``on``/``ignoring``/``group_left``/
``group_right``, range and offset durations and Grafana's ``$variables`` are removed; of the
identifiers left, those that are not PromQL functions, aggregations or keywords are metric names.
"""

from __future__ import annotations

import re

FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "avg",
        "avg_over_time",
        "bottomk",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "count",
        "count_over_time",
        "count_values",
        "day_of_month",
        "day_of_week",
        "delta",
        "deriv",
        "exp",
        "floor",
        "group",
        "histogram_quantile",
        "holt_winters",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log2",
        "log10",
        "max",
        "max_over_time",
        "min",
        "min_over_time",
        "predict_linear",
        "quantile",
        "quantile_over_time",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev",
        "stddev_over_time",
        "stdvar",
        "sum",
        "sum_over_time",
        "time",
        "timestamp",
        "topk",
        "vector",
    ]
)
KEYWORDS = frozenset(
    [
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
    ]
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER_WORDS = frozenset({"inf", "nan", "Inf", "NaN"})


def metric_names(expr: str) -> set[str]:
    """Every metric (or recording rule) name ``expr`` selects."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _VARIABLE.sub(" ", text)
    words = set(_IDENTIFIER.findall(text))
    return {w for w in words if w not in FUNCTIONS | KEYWORDS | _NUMBER_WORDS}


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>[^,]+?)\s*,\s*)?\w+\s*\)\s*$")


def grafana_variable_names(query: str) -> set[str]:
    """The metric names of a Grafana template variable's query (``label_values(m{...}, label)``
    or a plain PromQL expression)."""
    match = _LABEL_VALUES.match(query)
    if match:
        return metric_names(match.group("selector") or "")
    return metric_names(query)
