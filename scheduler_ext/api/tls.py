"""TLS for the extender: HTTPS, mutual TLS when a client CA is set, and certificates re-read live.

kube-scheduler's extender client speaks HTTPS with ``enableHTTPS`` and presents a client
certificate with ``tlsConfig.certFile``/``keyFile``; with ``server.tls_client_ca_file`` the
service requires one signed by that CA (``CERT_REQUIRED``), so nothing else on the network can
drive the verbs. Certificates are renewed in place (cert-manager, a rotated Secret): the files are
checked every ``server.tls_reload_seconds`` and loaded into the *same* ``SSLContext`` uvicorn
serves with, so new connections get the new certificate and no restart is needed. A client CA
bundle can grow this way (a new CA is added); dropping a CA needs a restart, since OpenSSL keeps
what was loaded.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

logger = logging.getLogger(__name__)


def _stamp(paths: tuple[Path, ...]) -> tuple[tuple[int, int], ...]:
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            stamps.append((0, 0))
        else:
            stamps.append((stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


class CertificateReloader:
    """Re-reads certificate, key and client CA into ``context`` when their files change."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        cert: Path,
        key: Path,
        client_ca: Path | None,
        interval: float,
    ) -> None:
        self._context = context
        self._cert, self._key, self._client_ca = cert, key, client_ca
        self._paths = (cert, key) + ((client_ca,) if client_ca else ())
        self._interval = interval
        self._seen = _stamp(self._paths)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tls-reloader", daemon=True)

    def start(self) -> CertificateReloader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """Load the files again if they changed since last seen; True when they were loaded."""
        now = _stamp(self._paths)
        if now == self._seen:
            return False
        try:
            self._context.load_cert_chain(self._cert, self._key)
            if self._client_ca is not None:
                self._context.load_verify_locations(self._client_ca)
        except (OSError, ssl.SSLError) as exc:  # a half-written pair: try again next time
            logger.warning("TLS files changed but could not be loaded yet: %s", exc)
            return False
        self._seen = now
        logger.info("TLS certificate reloaded from %s", self._cert)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check()
