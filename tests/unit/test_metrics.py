"""The service's metrics: names, labels and what the helpers record, read from the registry."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from scheduler_ext.metrics import Metrics


def test_time_verb_observes_each_call_under_its_verb_even_when_it_raises() -> None:
    metrics = Metrics(CollectorRegistry())
    with metrics.time_verb("filter"):
        pass
    with pytest.raises(RuntimeError), metrics.time_verb("filter"):
        raise RuntimeError("answered with an error")
    with metrics.time_verb("bind"):
        pass
    count = "scheduler_ext_verb_duration_seconds_count"
    assert metrics.registry.get_sample_value(count, {"verb": "filter"}) == 2
    assert metrics.registry.get_sample_value(count, {"verb": "bind"}) == 1
    seconds = "scheduler_ext_verb_duration_seconds_sum"
    assert metrics.registry.get_sample_value(seconds, {"verb": "filter"}) is not None


def test_priority_gauges_are_replaced_not_merged() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.set_pending({1000: 2, 10: 1})
    metrics.set_pending({10: 3})
    value = metrics.registry.get_sample_value
    assert value("scheduler_ext_pending_pods", {"priority": "10"}) == 3
    assert value("scheduler_ext_pending_pods", {"priority": "1000"}) is None
