"""Snapshots in every shape kubectl prints load into one consistent Cluster, or fail in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler_ext.cluster.snapshot import cluster_from_objects, load_snapshot
from scheduler_ext.domain import LabelSelector, Namespace, PriorityClass
from scheduler_ext.errors import SnapshotError
from testkit.builders import api_node, api_pod, object_list


def node(name: str, cpu: str = "4") -> dict[str, Any]:
    return api_node(name, allocatable={"cpu": cpu, "memory": "8Gi", "pods": "110"}, typed=True)


def pod(
    name: str, node_name: str | None = None, phase: str = "Running", **spec: Any
) -> dict[str, Any]:
    return api_pod(
        name, node_name=node_name, requests={"cpu": "100m"}, phase=phase, spec=spec, typed=True
    )


PDB = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"selector": {"matchLabels": {"app": "web"}}},
    "status": {"disruptionsAllowed": 1},
}
HIGH = {
    "apiVersion": "scheduling.k8s.io/v1",
    "kind": "PriorityClass",
    "metadata": {"name": "high"},
    "value": 1000,
}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}


def v1_list(*items: dict[str, Any]) -> dict[str, Any]:
    return object_list(items)


def write(tmp_path: Path, name: str, content: str | dict[str, Any] | list[Any]) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=4))
    return path


def test_v1_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "all.json",
        v1_list(
            node("n1"),
            node("n2"),
            pod("a", "n1", priorityClassName="high"),
            pod("b"),
            pod("done", "n2", phase="Succeeded"),
            PDB,
            HIGH,
            NAMESPACE,
            SERVICE,
        ),
    )
    cluster = load_snapshot([path])
    assert [n.name for n in cluster.nodes] == ["n1", "n2"]
    assert [(p.name, p.node_name, p.priority) for p in cluster.pods] == [
        ("a", "n1", 1000),
        ("b", None, 0),
    ]
    assert [(b.name, b.selector, b.disruptions_allowed) for b in cluster.budgets] == [
        ("web", LabelSelector(match_labels=(("app", "web"),)), 1)
    ]
    assert cluster.priority_classes == (PriorityClass("high", 1000),)
    assert cluster.namespaces == (Namespace("default"),)


def test_typed_lists_without_item_kinds(tmp_path: Path) -> None:
    nodes = {
        "kind": "NodeList",
        "items": [{"metadata": {"name": "n1"}, "status": node("n1")["status"]}],
    }
    pod_item = pod("a", "n1")
    del pod_item["kind"]
    pods = {"kind": "PodList", "items": [pod_item]}
    cluster = load_snapshot([write(tmp_path, "n.json", nodes), write(tmp_path, "p.json", pods)])
    assert [n.name for n in cluster.nodes] == ["n1"]
    assert [p.key for p in cluster.pods] == ["default/a"]


def test_multi_document_yaml(tmp_path: Path) -> None:
    text = "---\n" + "\n---\n".join(
        yaml.safe_dump(doc) for doc in (node("n1"), pod("a", "n1"), v1_list(pod("b")))
    )
    text += "\n---\n# only a comment\n"
    cluster = load_snapshot([write(tmp_path, "s.yaml", text)])
    assert [p.name for p in cluster.pods] == ["a", "b"]
    assert cluster.pods[0].requests.as_dict() == {"cpu": 100}


def test_json_array_and_str_paths(tmp_path: Path) -> None:
    path = write(tmp_path, "array.json", [node("n1"), pod("a", "n1")])
    assert len(load_snapshot([str(path)]).pods) == 1


def test_priority_classes_are_read_before_pods_across_files(tmp_path: Path) -> None:
    pods = write(tmp_path, "1-pods.json", v1_list(pod("a", "n1", priorityClassName="high")))
    rest = write(tmp_path, "2-rest.json", v1_list(node("n1"), HIGH))
    assert load_snapshot([pods, rest]).pods[0].priority == 1000


def test_identical_duplicates_are_accepted(tmp_path: Path) -> None:
    first = write(tmp_path, "a.json", v1_list(node("n1"), pod("a", "n1")))
    second = write(tmp_path, "b.json", v1_list(node("n1"), pod("a", "n1")))
    cluster = load_snapshot([first, second])
    assert (len(cluster.nodes), len(cluster.pods)) == (1, 1)


def test_cluster_from_objects() -> None:
    cluster = cluster_from_objects(
        [v1_list(node("n1")), pod("a", "n1"), pod("x", "gone")], strict_nodes=False
    )
    assert [p.node_name for p in cluster.pods] == ["n1", "gone"]


def error_of(paths: list[Path]) -> str:
    with pytest.raises(SnapshotError) as excinfo:
        load_snapshot(paths)
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert error_of([missing]) == f"{missing}: cannot read: No such file or directory"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    assert error_of([tmp_path]).startswith(f"{tmp_path}: cannot read: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            '{\n  "kind": "List",\n  "items": [\n    {"kind": "Node",}\n  ]\n}\n',
            "invalid JSON at line 4 column 21: Expecting property name enclosed in double quotes",
            id="bad-json",
        ),
        pytest.param(
            "kind: Node\nmetadata:\n  name: [unclosed\n",
            # the message after the position differs between the C and the pure-Python parser
            "invalid YAML at line 4 column 1: ",
            id="bad-yaml",
        ),
        pytest.param("", "empty file", id="empty"),
        pytest.param("just a string\n", "expected a Kubernetes object, got str", id="scalar"),
    ],
)
def test_unparseable_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad"
    path.write_text(content)
    error = error_of([path])
    assert error == f"{path}: {message}" or (
        message.endswith(": ") and error.startswith(f"{path}: {message}")
    )


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert error_of([path]) == f"{path}: not UTF-8 text (byte 0)"


def test_pod_on_unknown_node(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", v1_list(node("n1"), pod("a", "n2")))
    assert error_of([path]) == "pods/default/a: spec.nodeName: node 'n2' is not in the snapshot"


def test_finished_pod_on_unknown_node_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", v1_list(node("n1"), pod("a", "gone", phase="Failed")))
    assert load_snapshot([path]).pods == ()


def test_no_nodes(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", v1_list(pod("a")))
    assert error_of([path]) == "the snapshot has no nodes"


def test_no_files() -> None:
    with pytest.raises(SnapshotError, match="no snapshot files"):
        load_snapshot([])


def test_different_duplicates_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.json", v1_list(node("n1", cpu="4")))
    second = write(tmp_path, "b.json", v1_list(node("n1", cpu="8")))
    assert (
        error_of([first, second])
        == f"nodes/n1: defined twice, differently, in {first} and {second}"
    )


def test_different_duplicates_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", v1_list(node("n1"), pod("a", "n1"), pod("a")))
    assert error_of([path]) == f"pods/default/a: defined twice, differently, in {path}"


def test_bad_object_names_the_object(tmp_path: Path) -> None:
    bad = pod("a", "n1")
    bad["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1x"
    path = write(tmp_path, "s.json", v1_list(node("n1"), bad))
    assert (
        error_of([path])
        == 'pods/default/a: spec.containers[0].resources.requests.cpu: invalid quantity "1x"'
    )


def test_list_items_must_be_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", {"kind": "List", "items": {"a": 1}})
    assert error_of([path]) == f"{path}: List.items: expected a list"
