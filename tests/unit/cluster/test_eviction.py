"""The Eviction API's answers read into the outcomes execution acts on; a 2xx carrying a Failure
(two PodDisruptionBudgets) is a refusal, not a success."""

from __future__ import annotations

import json

import pytest

from scheduler_ext.cluster.eviction import EvictionResult, classify


def status(code: int, message: str, state: str = "Failure") -> bytes:
    return json.dumps(
        {"kind": "Status", "apiVersion": "v1", "status": state, "message": message, "code": code}
    ).encode()


@pytest.mark.parametrize(
    ("http", "body", "result"),
    [
        pytest.param(201, status(201, "", "Success"), EvictionResult.EVICTED, id="evicted"),
        pytest.param(200, b"", EvictionResult.EVICTED, id="empty-body"),
        pytest.param(
            201,
            status(
                500,
                "This pod has more than one PodDisruptionBudget, which the eviction "
                "subresource does not support.",
            ),
            EvictionResult.REFUSED,
            id="two-budgets-in-a-201",
        ),
        pytest.param(
            429,
            status(429, "Cannot evict pod as it would violate the pod's disruption budget."),
            EvictionResult.BLOCKED,
            id="budget",
        ),
        pytest.param(404, status(404, 'pods "v" not found'), EvictionResult.GONE, id="gone"),
        pytest.param(409, status(409, "Precondition failed: UID"), EvictionResult.GONE, id="uid"),
        pytest.param(403, status(403, "forbidden"), EvictionResult.REFUSED, id="forbidden"),
        pytest.param(504, b"not json", EvictionResult.REFUSED, id="timeout"),
    ],
)
def test_answers(http: int, body: bytes, result: EvictionResult) -> None:
    assert classify(http, body).result is result


def test_the_message_is_kept_in_one_line() -> None:
    outcome = classify(429, status(429, "needs 2 healthy pods\n and has 2"))
    assert outcome.detail == "429: needs 2 healthy pods and has 2"
