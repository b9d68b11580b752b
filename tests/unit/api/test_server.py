"""``scheduler-ext serve`` with an admin port: plans and metrics on their own listener, the verbs'
port without them, and both stop with the process. The real command line, as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testkit.cluster import free_ports
from testkit.service import NOWHERE_KUBECONFIG

pytestmark = pytest.mark.slow  # scheduler-ext serve runs as a process


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def test_plans_and_metrics_on_the_admin_port_only(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(NOWHERE_KUBECONFIG)
    port, admin = free_ports(2)
    env = {**os.environ, "SCHEDULER_EXT_SERVER__ADMIN_PORT": str(admin)}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "scheduler_ext", "serve", "--kubeconfig", str(kubeconfig),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:  # both listeners up (the admin one starts first, in its thread)
                assert _status(f"http://127.0.0.1:{admin}/metrics") == 200
                assert _status(f"http://127.0.0.1:{port}/healthz") == 200
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert _status(f"http://127.0.0.1:{admin}/api/v1/plans") == 200
        assert _status(f"http://127.0.0.1:{port}/metrics") == 404
        assert _status(f"http://127.0.0.1:{port}/api/v1/plans") == 404
        assert _status(f"http://127.0.0.1:{port}/healthz") == 200
    finally:
        process.terminate()
        assert process.wait(15) is not None
