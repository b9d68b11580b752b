"""`scheduler-ext serve` over HTTPS (for ``enableHTTPS: true``), through the real command line.

The kubeconfig points at an API server that does not exist: the service must still start, answer
/healthz, report not ready on /readyz, and refuse to filter from its empty state.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testkit.certs import ca_pair as _ca
from testkit.certs import signed_pair as _signed
from testkit.cluster import free_port
from testkit.service import NOWHERE_KUBECONFIG
from tests.unit.api.conftest import recorded

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
    kubeconfig.write_text(NOWHERE_KUBECONFIG)
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


def _get(url: str, context: ssl.SSLContext) -> int:
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return int(response.status)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make certificates")
def test_mutual_tls_refuses_untrusted_clients_and_certificates_reload(tmp_path: Path) -> None:
    ca = _ca(tmp_path, "ca")
    server = _signed(tmp_path, "server", ca, server=True)
    trusted = _signed(tmp_path, "kube-scheduler", ca)
    stranger = _signed(tmp_path, "stranger", _ca(tmp_path, "other-ca"))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(NOWHERE_KUBECONFIG)
    port = free_port()
    env = {**os.environ, "SCHEDULER_EXT_SERVER__TLS_RELOAD_SECONDS": "0.2"}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "scheduler_ext", "serve", "--kubeconfig", str(kubeconfig),
             "--host", "127.0.0.1", "--port", str(port),
             "--tls-cert-file", str(server[0]), "--tls-key-file", str(server[1]),
             "--tls-client-ca-file", str(ca[0])],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"https://127.0.0.1:{port}/healthz"

    def client(cert: tuple[Path, Path] | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(ca[0]))
        if cert is not None:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        return context

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _get(url, client(trusted)) == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        for refused in (None, stranger):
            with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
                _get(url, client(refused))
        # A renewed server certificate (new key, same CA) is served without a restart.
        renewed = _signed(tmp_path, "server-renewed", ca, server=True)
        shutil.copy(renewed[0], server[0])
        shutil.copy(renewed[1], server[1])
        wanted = ssl.PEM_cert_to_DER_cert(renewed[0].read_text())
        deadline = time.monotonic() + 60  # picked up within seconds; a loaded machine is slow
        while True:
            with socket.create_connection(("127.0.0.1", port)) as raw:
                context = client(trusted)
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    if tls.getpeercert(binary_form=True) == wanted:
                        break
            assert time.monotonic() < deadline, "the renewed certificate was not picked up"
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(10)
