"""The ``prioritize_rule`` setting over HTTP: ``policy`` answers the plain per-node reference of
the policy's scores (``tests/unit/extender/test_scoring_policy.py``), ``best-fit`` (the default)
answers best fit, and a rule that does not exist stops the service with one line."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.convert import pod_from
from scheduler_ext.config import Settings, SettingsError, load_settings
from scheduler_ext.extender import scoring
from scheduler_ext.solvers.policy.network import PRIORITIZE_WEIGHTS_FILE, shipped
from tests.unit.api.conftest import N0, N1, copy_of, filled_store, make_client, post, running_pod
from tests.unit.extender.test_scoring_policy import reference_hosts


def _store_with_busy_n0() -> Any:
    pod = running_pod("busy", N0, cpu="250m")
    pod["spec"]["containers"][0]["resources"]["requests"]["memory"] = "3Gi"
    return filled_store(pods=[pod])


def test_policy_rule_answers_the_reference_and_best_fit_stays_the_default() -> None:
    store = _store_with_busy_n0()
    request = copy_of("prioritize.node-cache")
    request["NodeNames"] = [N1, "unknown", N0, N1]
    pod = pod_from(request["Pod"])
    assert pod is not None
    names = request["NodeNames"]
    hosts, scores = reference_hosts(
        shipped(PRIORITIZE_WEIGHTS_FILE), pod.demand(), names, store.room(names)
    )
    assert hosts  # the pod fits somewhere: the answer is not trivially empty
    with make_client(store, prioritize_rule="policy") as client:
        body = post(client, "prioritize", request).json()
    assert body == [{"Host": h, "Score": s} for h, s in zip(hosts, scores, strict=True)]
    assert Settings().prioritize_rule == scoring.BEST_FIT
    with make_client(store) as client:
        default = post(client, "prioritize", request).json()
    expected = scoring.prioritize_nodes(pod.demand(), names, store.room(names))
    assert default == [
        {"Host": n, "Score": s} for n, s in zip(names, expected, strict=True) if s > 0
    ]


def test_an_unknown_rule_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULER_EXT_PRIORITIZE_RULE", "worst-fit")
    with pytest.raises(SettingsError) as failure:
        load_settings()
    assert len(failure.value.lines) == 1
    assert "prioritize_rule (SCHEDULER_EXT_PRIORITIZE_RULE)" in failure.value.lines[0]
    monkeypatch.setenv("SCHEDULER_EXT_PRIORITIZE_RULE", "policy")
    assert load_settings().prioritize_rule == scoring.POLICY
