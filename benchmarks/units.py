"""Byte units, stated once for the workload generators and the kubectl writer.

``MB`` is decimal because the paper draws memory requests in megabytes; ``MI`` and ``GI`` are
binary because node shapes are given that way and the API server prints memory in ``Mi``/``Gi``.
"""

from __future__ import annotations

MB = 1_000_000
MI = 1024 * 1024
GI = 1024 * MI
