"""Serving the app: uvicorn, one worker, with this project's connection and TLS policies.

One worker because the cluster state lives in memory (a second worker would hold a second,
unsynchronised copy). The protocol closes connections that do not send their request head in
time (``api/connections.py``); with TLS the certificates are re-read when they change and a client
CA makes client certificates mandatory (``api/tls.py``).
"""

from __future__ import annotations

import ssl

import uvicorn
from fastapi import FastAPI

from scheduler_ext.api import connections
from scheduler_ext.api.tls import CertificateReloader
from scheduler_ext.config import ServerSettings


def serve(app: FastAPI, server: ServerSettings) -> None:
    """Run ``app`` until the process is told to stop."""
    client_ca = server.tls_client_ca_file
    config = uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        workers=1,
        ssl_certfile=str(server.tls_cert_file) if server.tls_cert_file else None,
        ssl_keyfile=str(server.tls_key_file) if server.tls_key_file else None,
        ssl_ca_certs=str(client_ca) if client_ca else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # kube-scheduler calls directly; nothing reads the client address
        http=connections.protocol(server.header_timeout_seconds),
    )
    config.load()
    reloader = None
    if config.ssl is not None and server.tls_cert_file and server.tls_key_file:
        reloader = CertificateReloader(
            config.ssl,
            cert=server.tls_cert_file,
            key=server.tls_key_file,
            client_ca=client_ca,
            interval=server.tls_reload_seconds,
        ).start()
    try:
        uvicorn.Server(config).run()
    finally:
        if reloader is not None:
            reloader.stop()
