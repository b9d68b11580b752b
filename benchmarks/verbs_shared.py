"""What both verb benchmarks share: where the checkout is, waiting for a server, the tables.

The latency benchmark waits for the service it started, the throughput benchmark for the stub
extender; both print Markdown tables so that a run can be pasted into docs/benchmarks.md as it is
printed.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered 200 on :{port}{path}")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)
