"""`scheduler-ext serve` over HTTPS (for ``enableHTTPS: true``), through the real command line.

The kubeconfig points at an API server that does not exist: the service must still start, answer
/healthz, report not ready on /readyz, and refuse to filter from its empty state.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testkit.cluster import free_port
from tests.unit.api.conftest import recorded

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: nowhere, user: u}}]
current-context: c
"""


pytestmark = pytest.mark.slow  # openssl and scheduler-ext serve run as processes


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler_ext", "serve", "--kubeconfig", str(kubeconfig),
         "--host", "127.0.0.1", "--port", str(port),
         "--tls-cert-file", str(cert), "--tls-key-file", str(key)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", context=context, timeout=2) as r:
                    assert json.loads(r.read()) == {"status": "ok"}
                    break
            except urllib.error.URLError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"{base}/readyz", context=context, timeout=2)
        assert not_ready.value.code == 503
        not_ready.value.close()
        request = urllib.request.Request(
            f"{base}/scheduler/filter",
            data=json.dumps(recorded("filter.node-cache")).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            assert "not synced" in json.loads(response.read())["Error"]
    finally:
        process.terminate()
        process.wait(15)
        log.close()
