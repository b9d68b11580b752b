"""The command line contract: flags, outputs, exit codes, one-line errors, light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # every test runs the command in a subprocess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fragmented-cluster.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler_ext", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_output_is_a_packing_plan() -> None:
    done = run("plan", "--snapshot", str(EXAMPLE), "--time-limit", "5", "--output", "json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["apiVersion"] == "scheduler-ext.io/v1alpha1"
    assert plan["kind"] == "PackingPlan"
    assert set(plan["spec"]) >= {"bindings", "moves", "evictions", "unplanned"}
    status = plan["status"]
    assert {"optimal", "improves", "solver", "wallSeconds", "placedByPriority"} <= set(status)
    # How well the budget is kept is measured in benchmarks; on a loaded shared machine a test
    # can only catch a gross overrun.
    assert status["wallSeconds"] <= 2 * 5


def test_crds_prints_the_shipped_definition() -> None:
    done = run("crds")
    assert done.returncode == 0, done.stderr
    definition = yaml.safe_load(done.stdout)
    assert definition["kind"] == "CustomResourceDefinition"
    assert definition["metadata"]["name"] == "packingplans.scheduler-ext.io"


def test_yaml_and_table_outputs() -> None:
    done = run("plan", "--snapshot", str(EXAMPLE), "--time-limit", "1", "--output", "yaml")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["kind"] == "PackingPlan"
    table = run("plan", "--snapshot", str(EXAMPLE), "--time-limit", "1")
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("PRIORITY")
    assert "\n10000 (prod) " in table.stdout  # the PriorityClass names beside the values
    assert "Moves (" in table.stdout
    assert "Bindings (" in table.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("{not json", "snapshot", id="malformed"),
        pytest.param('{"kind": "List", "items": []}', "node", id="no-nodes"),
    ],
)
def test_bad_snapshot_is_one_line_and_exit_2(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    done = run("plan", "--snapshot", str(path), "--time-limit", "1")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0].lower()


NODE_YAML = """kind: Node
metadata:
  name: n1
status:
  allocatable:
    {key}: {value}
    pods: "110"
  conditions: [{{type: Ready, status: "True"}}]
"""


def pod_with(spec: dict[str, object]) -> str:
    node = {
        "kind": "Node",
        "metadata": {"name": "n1"},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    }
    pod = {
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}], **spec},
    }
    return json.dumps({"kind": "List", "items": [node, pod]})


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "huge.json",
            '{"kind": "Node", "metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": '
            + "9" * 5000
            + "}}}",
            "invalid json",
            id="json-integer-over-4300-digits",
        ),
        pytest.param(
            "huge.yaml",
            NODE_YAML.format(key="cpu", value="9" * 5000),
            "invalid yaml",
            id="yaml-integer",
        ),
        pytest.param(
            "names.yaml", NODE_YAML.format(key="1", value="1"), "resource names", id="yaml-int-name"
        ),
        pytest.param(
            "names.yaml",
            NODE_YAML.format(key="null", value="1"),
            "resource names",
            id="yaml-null-name",
        ),
        pytest.param(
            "negative.yaml",
            NODE_YAML.format(key="cpu", value='"-4"'),
            "greater than or equal to 0",
            id="negative-allocatable",
        ),
        pytest.param(
            "negative.json",
            pod_with({"overhead": {"memory": "-1Gi"}}),
            "spec.overhead.memory",
            id="negative-request",
        ),
        pytest.param(
            "skew.json",
            pod_with(
                {
                    "topologySpreadConstraints": [
                        {"maxSkew": -1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                    ]
                }
            ),
            "maxskew",
            id="negative-max-skew",
        ),
        pytest.param(
            "operator.json",
            pod_with(
                {
                    "affinity": {
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "topologyKey": "zone",
                                    "labelSelector": {
                                        "matchExpressions": [{"key": "a", "operator": "Like"}]
                                    },
                                }
                            ]
                        }
                    }
                }
            ),
            "not a valid selector operator",
            id="bad-selector-operator",
        ),
    ],
)
def test_defect_snapshots_are_one_line_and_exit_2(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    done = run("plan", "--snapshot", str(path), "--time-limit", "1")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0].lower()


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run("plan", "--snapshot", str(tmp_path / "absent.json"), "--time-limit", "1")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "absent.json" in done.stderr


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["--time-limit", "0"], id="zero-time"),
        pytest.param(["--time-limit", "abc"], id="bad-time"),
        pytest.param(["--max-disruptions", "-1"], id="negative-cap"),
        pytest.param(["--output", "xml"], id="bad-output"),
        pytest.param(["--solver", "magic"], id="bad-solver"),
    ],
)
def test_bad_flags_exit_2(flags: list[str]) -> None:
    done = run("plan", "--snapshot", str(EXAMPLE), *flags)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_plan_on_a_file_imports_neither_kubernetes_nor_the_web_stack() -> None:
    code = (
        "import sys\n"
        "from scheduler_ext.cli import main\n"
        f"main(['plan', '--snapshot', {str(EXAMPLE)!r}, '--time-limit', '1', '-o', 'json'])\n"
        "heavy = [m for m in ('kubernetes', 'fastapi', 'uvicorn', 'starlette')"
        " if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("[]"), done.stderr


def test_max_disruptions_zero_yields_no_moves_or_evictions() -> None:
    done = run(
        "plan",
        "--snapshot",
        str(EXAMPLE),
        "--time-limit",
        "1",
        "-o",
        "json",
        "--max-disruptions",
        "0",
    )
    assert done.returncode == 0, done.stderr
    spec = json.loads(done.stdout)["spec"]
    assert spec["moves"] == []
    assert spec["evictions"] == []


def test_namespace_selector_without_namespaces_leaves_the_pod_unplanned(tmp_path: Path) -> None:
    term = {
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": {"matchLabels": {"app": "db"}},
        "namespaceSelector": {"matchLabels": {"team": "data"}},
    }
    content = json.loads(
        pod_with(
            {
                "affinity": {
                    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
                }
            }
        )
    )
    content["items"][0]["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    path = tmp_path / "no-namespaces.json"
    path.write_text(json.dumps(content))
    done = run("plan", "--snapshot", str(path), "--time-limit", "1", "-o", "json")
    assert done.returncode == 0, done.stderr
    unplanned = json.loads(done.stdout)["spec"]["unplanned"]
    assert [u["pod"] for u in unplanned] == ["default/web"]
    assert "namespaceSelector the snapshot cannot evaluate" in unplanned[0]["reason"]


PENDING = "shop/checkout-7b5d9c8f6-g8h9j"


def test_explain_tells_why_and_what_would_place_the_pod() -> None:
    # The budget counts from the process start (imports included): a generous one, as this test
    # checks the answer, not the speed (the plan is proven well before it on a quiet machine).
    done = run("explain", PENDING, "--snapshot", str(EXAMPLE), "--time-limit", "20")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Pod {PENDING} (priority ")
    assert "Insufficient cpu" in done.stdout
    found = run("explain", PENDING, "--snapshot", str(EXAMPLE), "--time-limit", "20", "-o", "json")
    assert found.returncode == 0, found.stderr
    document = json.loads(found.stdout)
    assert document["pod"] == PENDING
    binding = {"pod": PENDING, "node": document["placement"]["node"]}
    assert binding in document["plan"]["spec"]["bindings"]


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        ("shop/nope", "pod shop/nope not found"),
        ("nope", "pod nope not found"),
    ],
)
def test_explain_of_no_pending_pod_is_one_line_and_exit_2(pod: str, message: str) -> None:
    done = run("explain", pod, "--snapshot", str(EXAMPLE), "--solver", "greedy")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"scheduler-ext: error: {message}")
