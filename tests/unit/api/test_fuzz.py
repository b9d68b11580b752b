"""Property: no body, however wrong, gets a 5xx from any verb (hypothesis).

Bodies are arbitrary JSON, arbitrary bytes, and the recorded kube-scheduler bodies with one value
replaced by arbitrary JSON or one key removed: the last kind reaches deep into the converter
(quantities, containers, node items, victims), where a crash would hide.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api.conftest import JSON, FakeBinder, filled_store, make_client, recorded

VERBS = {
    "filter": ["filter.node-cache", "filter.full-nodes"],
    "prioritize": ["prioritize.node-cache", "prioritize.full-nodes"],
    "preempt": ["preempt.node-cache", "preempt.full-nodes"],
    "bind": ["bind.node-cache"],
}
RECORDED = {name: recorded(name) for names in VERBS.values() for name in names}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["1500m", "1Gi", "-1", "1e3", "0.5", "Pod", "NodeNames", ""])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            out += _paths(item, (*prefix, index))
    return out


PATHS = {name: _paths(body) for name, body in RECORDED.items()}


@st.composite
def mutated(draw: st.DrawFn, name: str) -> Any:
    body = copy.deepcopy(RECORDED[name])
    path = draw(st.sampled_from(PATHS[name]))
    parent: Any = body
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return body


def bodies(verb: str) -> st.SearchStrategy[bytes]:
    structured = st.one_of(json_values, *[mutated(name) for name in VERBS[verb]]).map(
        lambda value: json.dumps(value).encode()
    )
    return st.one_of(structured, st.binary(max_size=64))


def _check(verb: str, body: bytes) -> None:
    with make_client(filled_store(), FakeBinder()) as client:
        response = client.post(f"/scheduler/{verb}", content=body, headers=JSON)
    assert response.status_code < 500, (response.status_code, response.text, body[:300])
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
    if response.status_code != 200:
        assert isinstance(response.json()["detail"], str)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(body=bodies("filter"))
def test_filter_never_fails_with_5xx(body: bytes) -> None:
    _check("filter", body)


@FUZZ
@given(body=bodies("prioritize"))
def test_prioritize_never_fails_with_5xx(body: bytes) -> None:
    _check("prioritize", body)


@FUZZ
@given(body=bodies("preempt"))
def test_preempt_never_fails_with_5xx(body: bytes) -> None:
    _check("preempt", body)


@FUZZ
@given(body=bodies("bind"))
def test_bind_never_fails_with_5xx(body: bytes) -> None:
    _check("bind", body)
