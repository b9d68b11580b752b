"""A fake API server for the client's unit tests: a handler base that answers JSON, and a server
on a free port with a kubeconfig pointing at it (token auth, plain HTTP), bare or with the
product's client connected to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scheduler_ext.cluster.client import KubeClient


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client closing a kept-alive connection is not worth a traceback


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], directory: Path) -> Iterator[Path]:
    """Serve ``handler`` until the block ends; yields the kubeconfig written in ``directory``."""
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    kubeconfig = directory / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "fake",
                        "cluster": {"server": f"http://127.0.0.1:{server.server_port}"},
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u"}}],
                "current-context": "fake",
            }
        )
    )
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def connected(handler: type[BaseHTTPRequestHandler], directory: Path) -> Iterator[KubeClient]:
    """``serving``, with a ``KubeClient`` connected to it (closed when the block ends)."""
    with serving(handler, directory) as kubeconfig:
        kube = KubeClient.connect(str(kubeconfig))
        try:
            yield kube
        finally:
            kube.close()
