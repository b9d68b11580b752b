"""Certificates for TLS tests, made with the machine's openssl: a CA, and pairs signed by it.

Server certificates name ``IP:127.0.0.1`` (the harness serves on loopback); client certificates
carry ``clientAuth``, as kube-scheduler's extender client presents them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def ca_pair(tmp: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: (certificate, key) files in ``tmp``."""
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
             f"/CN={name}", "-keyout", str(key), "-out", str(cert))  # fmt: skip
    return cert, key


def signed_pair(
    tmp: Path, name: str, ca: tuple[Path, Path], *, server: bool = False
) -> tuple[Path, Path]:
    cert, key, csr = tmp / f"{name}.crt", tmp / f"{name}.key", tmp / f"{name}.csr"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    extensions = tmp / f"{name}.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1\n" if server else "extendedKeyUsage=clientAuth\n"
    )
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-days", "1", "-extfile", str(extensions),
             "-out", str(cert))  # fmt: skip
    return cert, key
