"""Rendering helm/scheduler-ext with the real helm (hack/kube-bins.sh builds it with the rest)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testkit.bins import kube_bins

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "scheduler-ext"
RELEASE = "se"
NAMESPACE = "scheduler-ext"


def kube_version() -> str:
    """The Kubernetes version the harness runs (hack/versions.env), for --kube-version."""
    for line in (REPO / "hack" / "versions.env").read_text().splitlines():
        if line.startswith("KUBE_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("hack/versions.env has no KUBE_VERSION")


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(kube_bins().helm), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr}"
    return result


def template_args(values: Mapping[str, Any], values_file: Path) -> list[str]:
    values_file.write_text(yaml.safe_dump(dict(values)))
    return [RELEASE, str(CHART), "--namespace", NAMESPACE, "--values", str(values_file)]


@dataclass(frozen=True)
class Rendered:
    objects: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        [found] = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        return found

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self.objects}


def render(values: Mapping[str, Any] | None = None, *, extra: Sequence[str] = ()) -> Rendered:
    """``helm template`` of the chart with ``values``, as parsed objects (tests included)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = template_args(values or {}, Path(tmp) / "values.yaml")
        out = helm("template", *args, "--kube-version", kube_version(), *extra).stdout
    return Rendered(tuple(o for o in yaml.safe_load_all(out) if o))


def render_error(values: Mapping[str, Any]) -> str:
    """helm's complaint about ``values`` (the test fails if helm accepts them)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = template_args(values, Path(tmp) / "values.yaml")
        result = helm("template", *args, "--kube-version", kube_version(), check=False)
    assert result.returncode != 0, "helm accepted the values"
    return result.stderr
