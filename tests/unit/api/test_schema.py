"""The OpenAPI schema matches what the service does: schemathesis generates requests from it for
every operation and checks each answer against it (status codes, content types, bodies), and that
bodies the schema forbids are refused. Bounded: a few dozen cases per operation."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance

from tests.unit.api.conftest import FakeBinder, filled_store, make_client, with_pending


def test_every_operation_answers_as_documented() -> None:
    with make_client(with_pending(filled_store()), FakeBinder()) as client:
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
        checked = []
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]  # an Err (broken operation) fails here

            @given(case=operation.as_strategy())
            @settings(
                max_examples=30,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def answers_as_documented(case: Case) -> None:  # type: ignore[type-arg]
                # The embedded v1 objects (Pod, Node) are documented as Kubernetes objects and
                # read by the converter, which refuses what the API server would never send;
                # so schema-valid bodies may be refused. Every other check runs: documented
                # status codes and content types, answers that match the schema, no 5xx, and
                # schema-invalid bodies refused.
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            answers_as_documented()
            checked.append(operation.label)
    assert len(checked) >= 9, checked  # the four verbs, health, readiness, metrics, plans


def test_the_interactive_docs_are_off_and_the_schema_is_served() -> None:
    with make_client(filled_store()) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_a_boolean_is_not_a_count_of_pdb_violations() -> None:
    with make_client(filled_store()) as client:
        body = {
            "Pod": {"metadata": {"name": "p"}},
            "NodeNameToMetaVictims": {"n": {"Pods": [], "NumPDBViolations": False}},
        }
        response = client.post("/scheduler/preempt", json=body)
    assert response.status_code == 422
    assert "NumPDBViolations" in response.json()["detail"]
