"""Every verb answered from the recorded kube-scheduler bodies, in both node-cache modes, in the
exact extender/v1 wire format; bad bodies get a 4xx with one clear line."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.extender import schemas, scoring
from tests.unit.api.conftest import (
    JSON,
    N0,
    N1,
    NAMESPACE,
    FakeBinder,
    copy_of,
    filled_store,
    make_client,
    post,
    recorded,
    recorded_nodes,
    running_pod,
    with_pending,
)

FILTER_KEYS = {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}


def test_filter_with_node_cache_rejects_the_node_without_room(client: TestClient) -> None:
    response = post(client, "filter", recorded("filter.node-cache"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FILTER_KEYS  # Go field names, every one present (nil is null)
    assert body["NodeNames"] == [N1]
    assert body["Nodes"] is None
    assert body["FailedAndUnresolvableNodes"] is None  # preemption may still use n0
    assert body["FailedNodes"] == {N0: "scheduler-ext: Insufficient cpu"}
    assert body["Error"] == ""
    schemas.ExtenderFilterResult.model_validate(body)


def test_filter_with_full_nodes_returns_the_node_objects(client: TestClient) -> None:
    request = recorded("filter.full-nodes")
    response = post(client, "filter", request)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FILTER_KEYS
    assert body["NodeNames"] is None
    [kept] = body["Nodes"]["items"]
    assert kept == next(n for n in request["Nodes"]["items"] if n["metadata"]["name"] == N1)
    assert body["FailedNodes"] == {N0: "scheduler-ext: Insufficient cpu"}


def test_filter_passes_every_node_with_room() -> None:
    with make_client(filled_store(pods=[])) as client:
        body = post(client, "filter", recorded("filter.node-cache")).json()
    assert body["NodeNames"] == [N1, N0]  # kube-scheduler's order kept
    assert body["FailedNodes"] == {}


def test_filter_counts_pods_and_extended_resources() -> None:
    request = copy_of("filter.node-cache")
    request["Pod"]["spec"]["containers"][0]["resources"]["requests"] = {"example.com/gpu": "1"}
    with make_client(filled_store()) as client:
        body = post(client, "filter", request).json()
    assert body["NodeNames"] == []  # never null: null would mean "every node filtered" anyway
    assert body["FailedNodes"] == {
        N0: "scheduler-ext: Insufficient example.com/gpu",
        N1: "scheduler-ext: Insufficient example.com/gpu",
    }


def test_unknown_nodes_pass_filter_and_score_zero(client: TestClient) -> None:
    request = copy_of("filter.node-cache")
    request["NodeNames"] = ["created-a-moment-ago", N1]
    body = post(client, "filter", request).json()
    assert body["NodeNames"] == ["created-a-moment-ago", N1]
    scores = post(client, "prioritize", request).json()
    assert "created-a-moment-ago" not in {entry["Host"] for entry in scores}  # no score: 0


@pytest.mark.parametrize("mode", ["node-cache", "full-nodes"])
def test_prioritize_prefers_the_node_the_pod_fills(mode: str) -> None:
    busy = running_pod("busy", N0, cpu="250m")
    busy["spec"]["containers"][0]["resources"]["requests"]["memory"] = "3Gi"
    with make_client(filled_store(pods=[busy])) as client:
        response = post(client, "prioritize", recorded(f"prioritize.{mode}"))
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)  # a bare HostPriorityList
    scores = {entry["Host"]: entry["Score"] for entry in body}
    # n0 keeps 12.5% cpu and 22% memory free after low-0; n1 would keep 97% memory free and
    # scores 0, which the answer leaves out (kube-scheduler adds nothing for an absent node).
    assert scores == {N0: 8}
    for entry in body:
        schemas.HostPriority.model_validate(entry)


def test_bind_creates_the_binding_and_counts_the_pod_at_once(
    client: TestClient, binder: FakeBinder, store: ClusterStore
) -> None:
    with_pending(store)
    assert post(client, "filter", recorded("filter.node-cache")).json()["NodeNames"] == [N1]
    bind = recorded("bind.node-cache")
    response = post(client, "bind", bind)
    assert response.status_code == 200
    assert response.json() == {"Error": ""}
    assert binder.calls == [(NAMESPACE, "low-0", bind["PodUID"], N1)]
    # Before any watch event: the pod is assumed on n1, so n1 has no room for another low-0.
    assert store.assumed() == {f"{NAMESPACE}/low-0": N1}
    again = post(client, "filter", recorded("filter.node-cache")).json()
    assert again["NodeNames"] == []
    # The watch shows the pod bound: the assumption gives way to the real pod, counted once.
    store.apply("Pod", "MODIFIED", running_pod("low-0", N1, uid=bind["PodUID"]))
    assert store.assumed() == {}
    [(_, free)] = [r for r in store.room([N1]) if r is not None]
    assert free["cpu"] == 500


def test_bind_reports_api_errors_in_the_error_field(
    client: TestClient, binder: FakeBinder, store: ClusterStore
) -> None:
    with_pending(store)
    binder.refuse.add("low-0")
    response = post(client, "bind", recorded("bind.node-cache"))
    assert response.status_code == 200
    assert "409 Conflict" in response.json()["Error"]
    assert store.assumed() == {}


def test_bind_without_api_access_is_an_error_answer(store: ClusterStore) -> None:
    with make_client(store) as client:
        response = post(client, "bind", recorded("bind.node-cache"))
    assert response.status_code == 200
    assert response.json()["Error"].startswith("scheduler-ext:")


@pytest.mark.parametrize("mode", ["node-cache", "full-nodes"])
def test_preempt_passes_the_candidates_through(client: TestClient, mode: str) -> None:
    request = recorded(f"preempt.{mode}")
    response = post(client, "preempt", request)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"NodeNameToMetaVictims"}
    expected = recorded("preempt.node-cache")["NodeNameToMetaVictims"]  # same scenario
    assert body["NodeNameToMetaVictims"] == expected
    schemas.ExtenderPreemptionResult.model_validate(body)


def _lower_keys(value: Any, depth: int = 1) -> Any:
    """Lowercase the extender-level keys only (the embedded Pod stays Kubernetes JSON)."""
    if isinstance(value, dict) and depth > 0:
        return {k.lower(): v for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "verb",
    ["filter.node-cache", "prioritize.node-cache", "preempt.node-cache", "bind.node-cache"],
)
def test_keys_match_case_insensitively_like_the_go_decoder(client: TestClient, verb: str) -> None:
    name = verb.split(".")[0]
    exact = post(client, name, recorded(verb))
    lowered = post(client, name, _lower_keys(recorded(verb)))
    assert lowered.status_code == exact.status_code == 200
    if name != "bind":  # bind has a side effect; the second call is just another bind
        assert lowered.json() == exact.json()


def test_verbs_refuse_to_answer_from_an_unsynced_state() -> None:
    store = ClusterStore()
    store.replace("Node", [])
    with make_client(store) as client:
        filtered = post(client, "filter", recorded("filter.node-cache"))
        assert filtered.status_code == 200
        assert "not synced" in filtered.json()["Error"]
        assert post(client, "prioritize", recorded("prioritize.node-cache")).status_code == 503
        assert client.get("/readyz").status_code == 503
        metrics = client.get("/metrics").text
    assert 'scheduler_ext_verb_errors_total{reason="not_synced",verb="filter"} 1.0' in metrics


def _with(name: str, path: list[str | int], value: object) -> dict[str, Any]:
    body = copy_of(name)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def _without(name: str, key: str) -> dict[str, Any]:
    body = copy_of(name)
    del body[key]
    return body


BAD_BODIES: list[Any] = [
    pytest.param("filter", b"{", "invalid JSON", id="malformed-json"),
    pytest.param("filter", b"", "body: a JSON object is required", id="empty-body"),
    pytest.param("filter", b"[1, 2]", "body:", id="array-not-object"),
    pytest.param("filter", b"null", "body:", id="null-body"),
    pytest.param(
        "filter", _without("filter.node-cache", "Pod"), "Pod: Field required", id="no-pod"
    ),
    pytest.param("filter", _with("filter.node-cache", ["Pod"], "low-0"), "Pod:", id="pod-string"),
    pytest.param(
        "filter", _with("filter.node-cache", ["NodeNames"], "n1"), "NodeNames", id="names-string"
    ),
    pytest.param(
        "filter", _with("filter.node-cache", ["NodeNames"], [1]), "NodeNames.0", id="name-number"
    ),
    pytest.param(
        "filter",
        _with("filter.node-cache", ["NodeNames"], None),
        "one of NodeNames",
        id="no-nodes-at-all",
    ),
    pytest.param(
        "filter",
        _with("filter.full-nodes", ["Nodes", "items", 0, "metadata"], {}),
        "Nodes.items[0].metadata.name",
        id="node-without-name",
    ),
    pytest.param(
        "filter",
        _with("filter.full-nodes", ["Nodes", "items"], "nodes"),
        "Nodes.items",
        id="items-string",
    ),
    pytest.param(
        "prioritize",
        _with(
            "prioritize.node-cache",
            ["Pod", "spec", "containers", 0, "resources", "requests", "cpu"],
            "lots",
        ),
        'invalid quantity "lots"',
        id="bad-quantity",
    ),
    pytest.param(
        "prioritize",
        _with("prioritize.node-cache", ["Pod", "spec", "containers"], {"c0": {}}),
        "spec.containers",
        id="containers-mapping",
    ),
    pytest.param("bind", _without("bind.node-cache", "PodName"), "PodName", id="bind-no-name"),
    pytest.param("bind", _with("bind.node-cache", ["Node"], ""), "Node:", id="bind-empty-node"),
    pytest.param("bind", _with("bind.node-cache", ["PodUID"], 7), "PodUID", id="bind-uid-number"),
    pytest.param(
        "preempt",
        _with("preempt.node-cache", ["NodeNameToMetaVictims", N0, "NumPDBViolations"], "x"),
        "NumPDBViolations",
        id="violations-string",
    ),
    pytest.param(
        "preempt",
        _with("preempt.node-cache", ["NodeNameToMetaVictims", N0, "Pods"], [{"UID": None}]),
        "UID",
        id="victim-uid-null",
    ),
    pytest.param(
        "preempt",
        _with("preempt.full-nodes", ["NodeNameToVictims", N0, "Pods", 0, "metadata"], {}),
        "metadata.uid",
        id="victim-without-uid",
    ),
]


@pytest.mark.parametrize(("verb", "body", "message"), BAD_BODIES)
def test_bad_bodies_get_a_4xx_with_one_clear_line(
    client: TestClient, binder: FakeBinder, verb: str, body: object, message: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(f"/scheduler/{verb}", content=content, headers=JSON)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "\n" not in detail
    assert message in detail
    assert binder.calls == []


def test_huge_payloads_get_413_before_parsing(store: ClusterStore) -> None:
    request = copy_of("filter.node-cache")
    request["NodeNames"] = [f"node-{i}" for i in range(100)]
    with make_client(store, server={"max_body_bytes": 2048}) as client:
        response = post(client, "filter", request)
        assert response.status_code == 413
        assert "too large" in response.json()["detail"]

        def chunks() -> Any:  # no content-length: the limit applies while reading
            data = json.dumps(request).encode()
            for i in range(0, len(data), 512):
                yield data[i : i + 512]

        streamed = client.post("/scheduler/filter", content=chunks(), headers=JSON)
        assert streamed.status_code == 413
        assert post(client, "filter", recorded("filter.node-cache")).status_code == 200


def test_prioritize_escapes_names_that_need_it() -> None:
    weird = 'we"ird\\name'
    node = copy.deepcopy(recorded_nodes()[0])
    node["metadata"]["name"] = weird
    busy = running_pod("busy", weird, cpu="250m")
    busy["spec"]["containers"][0]["resources"]["requests"]["memory"] = "3Gi"
    store = filled_store(pods=[busy])
    store.replace("Node", [node, *recorded_nodes()])
    request = copy_of("prioritize.node-cache")
    request["NodeNames"] = [weird, N1]
    with make_client(store) as client:
        body = post(client, "prioritize", request).json()
    assert body == [{"Host": weird, "Score": 8}]


def test_unknown_verbs_and_other_methods_get_404_and_405(client: TestClient) -> None:
    unknown = client.post("/scheduler/score", content=b"{}", headers=JSON)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not Found"}
    got = client.get("/scheduler/filter")
    assert got.status_code == 405
    assert got.headers["allow"] == "POST"
    assert client.get("/scheduler/").status_code == 404


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


def test_openapi_documents_every_verb_with_resolvable_schemas(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    for verb in ("filter", "prioritize", "preempt", "bind"):
        operation = document["paths"][f"/scheduler/{verb}"]["post"]
        assert set(operation["responses"]) >= {"200", "422"}
    for ref in _refs(document):
        assert ref.removeprefix("#/components/schemas/") in components, ref
    args = components["ExtenderArgs"]["properties"]
    assert set(args) == {"Pod", "Nodes", "NodeNames"}  # the Go field names, as on the wire
    answer = document["paths"]["/scheduler/prioritize"]["post"]["responses"]["200"]
    listed = answer["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
    assert components[listed]["type"] == "array"


def test_the_extender_app_alone_dispatches_on_the_last_path_segment(store: ClusterStore) -> None:
    """``ExtenderApp`` without the FastAPI app around it: the verb's reply is written as it is."""
    from prometheus_client import CollectorRegistry
    from starlette.testclient import TestClient as BareClient

    from scheduler_ext.api.extender import ExtenderApp
    from scheduler_ext.metrics import Metrics

    class Deps:
        def __init__(self) -> None:
            self.store = store
            self.metrics = Metrics(CollectorRegistry())
            self.client = None
            self.scheduler_names = ("default-scheduler",)
            self.bind_wait_seconds = 0.0
            self.prioritize_rule: scoring.Rule = scoring.BEST_FIT

        def defers_preemption(self, key: str, uid: str) -> bool:
            return False

    bare = BareClient(ExtenderApp(Deps()))  # no lifespan: the bare app serves HTTP only
    answer = bare.post("/filter", content=json.dumps(copy_of("filter.node-cache")))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["NodeNames"] == [N1]
    assert bare.post("/bind", content=b"[]").status_code == 422
    assert bare.post("/nope", content=b"{}").status_code == 404
