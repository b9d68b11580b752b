"""A PodDisruptionBudget keeps what the Eviction API decides on: besides the selector and
``status.disruptionsAllowed``, whether its status is current (``status.observedGeneration``
against ``metadata.generation``) and how many evictions it has not confirmed yet
(``status.disruptedPods``)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_ext.cluster.convert import budget_from
from scheduler_ext.errors import SnapshotError


def budget_json(meta: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "db", "namespace": "prod", **(meta or {})},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "db"}}},
        "status": {"disruptionsAllowed": 1, **status},
    }


def test_generations_are_read() -> None:
    budget = budget_from(budget_json({"generation": 3}, observedGeneration=2))
    assert (budget.generation, budget.observed_generation) == (3, 2)


def test_a_budget_without_generations_is_current() -> None:
    budget = budget_from(budget_json())
    assert (budget.generation, budget.observed_generation) == (0, 0)


def test_disrupted_pods_are_counted() -> None:
    taken = {"web-1": "2026-05-01T10:00:00Z", "web-2": "2026-05-01T10:00:01Z"}
    assert budget_from(budget_json(disruptedPods=taken)).disrupted_pods == 2
    assert budget_from(budget_json()).disrupted_pods == 0


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        pytest.param(budget_json({"generation": "two"}), "metadata.generation", id="generation"),
        pytest.param(
            budget_json(observedGeneration=[1]), "status.observedGeneration", id="observed"
        ),
        pytest.param(budget_json(disruptedPods=["web-1"]), "status.disruptedPods", id="disrupted"),
    ],
)
def test_malformed_fields_are_one_line(obj: dict[str, Any], path: str) -> None:
    with pytest.raises(SnapshotError) as failure:
        budget_from(obj)
    message = str(failure.value)
    assert path in message
    assert "\n" not in message
