"""A real Prometheus (Debian's ``prometheus``, installed by hack/prometheus.sh) for tests.

``PrometheusProcess`` writes its own configuration and data directory under a test's directory,
listens on a free port, scrapes one target as ``job="scheduler-ext"`` (the job the shipped rules
and dashboard select) every second, evaluates the shipped rule files every second, and answers
PromQL through its HTTP API (``query``, ``query_range``, ``rules``, ``alerts``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from testkit.cluster import free_port
from testkit.processes import terminate
from testkit.wait import wait_for

JOB = "scheduler-ext"
INTERVAL_SECONDS = 1
LOG_TAIL = 4000


class PrometheusError(AssertionError):
    """Prometheus did not start, or its API answered with an error."""


def binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise PrometheusError("prometheus not found: run hack/prometheus.sh (Debian's prometheus)")
    return found


class PrometheusProcess:
    def __init__(self, workdir: Path, target: str, rule_files: Sequence[Path] = ()) -> None:
        self.workdir = workdir
        self.target = target
        self.rule_files = tuple(rule_files)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        interval = f"{INTERVAL_SECONDS}s"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "scrape_timeout": interval,
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": [self.target]}],
                }
            ],
        }

    def start(self, timeout: float = 60.0) -> PrometheusProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        command = [
            binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

        def ready() -> int:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PrometheusError(f"prometheus exited {self.process.returncode}: {self.log()}")
            with urllib.request.urlopen(self.url + "/-/ready", timeout=5) as response:
                return int(response.status)

        wait_for(
            ready,
            lambda status: status == 200,
            description="prometheus ready",
            timeout=timeout,
            retry=lambda exc: not isinstance(exc, PrometheusError),
        )
        return self

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-LOG_TAIL:]

    def stop(self) -> None:
        terminate(self.process, grace=20)

    def __enter__(self) -> PrometheusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the HTTP API -----------------------------------------------------------------------

    def api(self, path: str, **params: str) -> Any:
        """``data`` of ``/api/v1/<path>`` (PrometheusError with Prometheus's own error)."""
        query = urllib.parse.urlencode(params)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        result: list[dict[str, Any]] = self.api("query", **params)["result"]
        return result

    def query_range(
        self, expr: str, start: float, end: float, step: float = 2.0
    ) -> list[dict[str, Any]]:
        """Matrix series: ``{"metric": {...}, "values": [[t, "v"], ...]}``."""
        data = self.api(
            "query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step}"
        )
        result: list[dict[str, Any]] = data["result"]
        return result

    def rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = [
            rule for group in self.api("rules")["groups"] for rule in group["rules"]
        ]
        return rules

    def scraped(self) -> bool:
        targets = self.api("targets")["activeTargets"]
        return any(t["health"] == "up" for t in targets)


def finite_values(series: Sequence[dict[str, Any]]) -> list[float]:
    """Every finite sample of a query's series (NaN: a quantile of no observations)."""
    values = []
    for item in series:
        samples = item.get("values") or ([item["value"]] if "value" in item else [])
        for _, text in samples:
            value = float(text)
            if value == value and value not in (float("inf"), float("-inf")):
                values.append(value)
    return values
